"""Online endpoint shells, one per served model. Their deployments and traffic belong to the operator.

Each endpoint carries the platform contract's tags (`modeldeploy.api.platform`): the owner tag names the
ModelDeployment that may deploy into it (the operator refuses any endpoint whose owner tag is not its own),
and the platform tag tells the operator the endpoint is this stack's, so it never deletes or reconfigures it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import managedidentity

from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.endpoints_config import EndpointConfig
from kdap_infra.site import Placement
from modeldeploy.api import platform

# The operator shifts traffic during rollouts; Pulumi must not reset it on the next `up`.
OPERATOR_OWNED = ["properties.traffic", "properties.mirrorTraffic"]
ENDPOINT_KIND = {"managed": "Managed", "kubernetes": "Kubernetes"}


def endpoint_tags(place: Placement, spec: EndpointConfig) -> dict[str, str]:
    tags = place.naming.model_tags(spec.name, spec.namespace, spec.team)
    return tags | platform.platform_endpoint_tags(spec.namespace, spec.name, place.naming.stack)


def auth_mode(spec: EndpointConfig) -> str:
    """The ARM auth mode: the contract's default for the kind, which is also the operator's default."""
    return platform.ARM_AUTH_MODE[platform.DEFAULT_AUTH_MODE[spec.kind]]


class OnlineEndpoints(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        specs: Sequence[EndpointConfig],
        workspace_name: pulumi.Input[str],
        identity: managedidentity.UserAssignedIdentity,
        kubernetes_compute: pulumi.Resource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:OnlineEndpoints", name, None, opts)
        self.specs = list(specs)
        self.endpoints: dict[str, ml.OnlineEndpoint] = {}
        for spec in specs:
            endpoint = self._endpoint(spec, place, workspace_name, identity, kubernetes_compute)
            send_to_log_analytics(
                f"ep-{spec.name}", target_id=endpoint.id, workspace_id=place.log_analytics_id, parent=self
            )
            self.endpoints[spec.name] = endpoint
        self.register_outputs({"endpoints": {k: v.id for k, v in self.endpoints.items()}})

    def _endpoint(
        self,
        spec: EndpointConfig,
        place: Placement,
        workspace_name: pulumi.Input[str],
        identity: managedidentity.UserAssignedIdentity,
        kubernetes_compute: pulumi.Resource | None,
    ) -> ml.OnlineEndpoint:
        kubernetes = spec.kind == "kubernetes"
        if kubernetes and kubernetes_compute is None:
            raise ValueError(f"endpoint {spec.name} is kind kubernetes but no AKS compute is attached")
        return ml.OnlineEndpoint(
            f"ep-{spec.name}",
            endpoint_name=place.naming.endpoint_name(spec.name),
            workspace_name=workspace_name,
            resource_group_name=place.resource_group_name,
            location=place.site.location,
            kind=ENDPOINT_KIND[spec.kind],
            identity=ml.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[identity.id]
            ),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=auth_mode(spec),
                compute=platform.KUBERNETES_COMPUTE if kubernetes else None,
                public_network_access=place.site.public_access,
                description=(
                    f"{spec.name}: deployments and traffic managed by the kdap operator for "
                    f"ModelDeployment {spec.namespace}/{spec.name}"
                ),
            ),
            tags=endpoint_tags(place, spec),
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=OPERATOR_OWNED,
                depends_on=[kubernetes_compute] if kubernetes and kubernetes_compute else None,
            ),
        )
