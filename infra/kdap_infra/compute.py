"""Compute clusters: a dedicated GPU cluster for must-finish work, spot GPU and CPU clusters for the rest."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import managedidentity

from kdap_infra.compute_config import ComputeConfig
from kdap_infra.site import Placement


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    vm_size: str
    max_nodes: int
    priority: str  # Dedicated | LowPriority
    purpose: str


def cluster_specs(c: ComputeConfig, is_prod: bool) -> list[ClusterSpec]:
    return [
        # Never evicted in production; outside it the same cluster runs on spot capacity (a dev job can be
        # retried, and the policy pack requires low priority there).
        ClusterSpec(
            "gpu-dedicated",
            c.gpu_vm_size,
            c.gpu_max_nodes,
            "Dedicated" if is_prod else "LowPriority",
            "GPU training that must not be evicted (in production)",
        ),
        ClusterSpec(
            "gpu-spot",
            c.spot_gpu_vm_size,
            c.spot_gpu_max_nodes,
            "LowPriority",
            "GPU training and batch scoring",
        ),
        ClusterSpec(
            "cpu-spot", c.cpu_vm_size, c.cpu_max_nodes, "LowPriority", "CPU jobs, batch scoring, image builds"
        ),
    ]


def idle_timeout(minutes: int) -> str:
    """ISO 8601 duration, the format AmlCompute expects."""
    return f"PT{minutes}M"


class ComputeClusters(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        config: ComputeConfig,
        workspace_name: pulumi.Input[str],
        identity: managedidentity.UserAssignedIdentity,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:ComputeClusters", name, None, opts)
        self.clusters = {
            spec.name: ml.Compute(
                f"compute-{spec.name}",
                compute_name=spec.name,
                workspace_name=workspace_name,
                resource_group_name=place.resource_group_name,
                location=place.site.location,
                identity=ml.ManagedServiceIdentityArgs(
                    type="UserAssigned", user_assigned_identities=[identity.id]
                ),
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute",
                    description=spec.purpose,
                    disable_local_auth=True,
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=spec.vm_size,
                        vm_priority=spec.priority,
                        os_type="Linux",
                        enable_node_public_ip=False,
                        remote_login_port_public_access="Disabled",
                        scale_settings=ml.ScaleSettingsArgs(
                            min_node_count=0,
                            max_node_count=spec.max_nodes,
                            node_idle_time_before_scale_down=idle_timeout(config.idle_minutes),
                        ),
                    ),
                ),
                tags=place.naming.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for spec in cluster_specs(config, place.site.is_prod)
        }
        self.register_outputs({"clusters": list(self.clusters)})
