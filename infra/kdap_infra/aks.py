"""Optional AKS cluster for the operator: OIDC issuer and workload identity, Entra-only access."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerservice as cs

from kdap_infra.aks_config import AksConfig
from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.site import Placement


class OperatorCluster(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        config: AksConfig,
        subnet_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:aks:OperatorCluster", name, None, opts)
        site, naming, logs = place.site, place.naming, place.log_analytics_id
        self.cluster = cs.ManagedCluster(
            "aks",
            resource_name_=naming.name("aks"),
            resource_group_name=place.resource_group_name,
            location=site.location,
            dns_prefix=naming.name("aks"),
            kubernetes_version=config.kubernetes_version,
            sku=cs.ManagedClusterSKUArgs(name="Base", tier="Standard" if site.is_prod else "Free"),
            identity=cs.ManagedClusterIdentityArgs(type="SystemAssigned"),
            # The operator's pods get Entra tokens by exchanging service-account tokens (workload identity).
            oidc_issuer_profile=cs.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=cs.ManagedClusterSecurityProfileArgs(
                workload_identity=cs.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True)
            ),
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=cs.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True, tenant_id=site.tenant_id
            ),
            api_server_access_profile=cs.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=site.is_prod
            ),
            auto_upgrade_profile=cs.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel="stable", node_os_upgrade_channel="NodeImage"
            ),
            network_profile=cs.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_policy="cilium",
                network_dataplane="cilium",
            ),
            agent_pool_profiles=[
                cs.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode="System",
                    vm_size=config.system_vm_size,
                    count=config.system_node_count,
                    os_type="Linux",
                    os_sku="AzureLinux",
                    enable_node_public_ip=False,
                    availability_zones=["1", "2", "3"] if site.is_prod else None,
                    vnet_subnet_id=subnet_id,
                )
            ],
            addon_profiles={
                "omsagent": cs.ManagedClusterAddonProfileArgs(
                    enabled=True,
                    config={"logAnalyticsWorkspaceResourceID": logs, "useAADAuth": "true"},
                )
            },
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        send_to_log_analytics(
            "aks", target_id=self.cluster.id, workspace_id=logs, parent=self, log_group="audit"
        )
        self.oidc_issuer_url: pulumi.Output[str] = self.cluster.oidc_issuer_profile.apply(
            lambda profile: profile.issuer_url if profile else ""
        )
        self.register_outputs({"cluster_id": self.cluster.id, "oidc_issuer_url": self.oidc_issuer_url})
