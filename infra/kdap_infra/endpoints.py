"""Managed online endpoints. Their deployments and traffic belong to the operator, not to this program."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import managedidentity

from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.endpoints_config import EndpointConfig
from kdap_infra.site import Placement

# The operator shifts traffic during rollouts; Pulumi must not reset it on the next `up`.
OPERATOR_OWNED = ["properties.traffic", "properties.mirrorTraffic"]


class OnlineEndpoints(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        specs: Sequence[EndpointConfig],
        workspace_name: pulumi.Input[str],
        identity: managedidentity.UserAssignedIdentity,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:OnlineEndpoints", name, None, opts)
        self.endpoints: dict[str, ml.OnlineEndpoint] = {}
        for spec in specs:
            endpoint = self._endpoint(spec, place, workspace_name, identity)
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
    ) -> ml.OnlineEndpoint:
        return ml.OnlineEndpoint(
            f"ep-{spec.name}",
            endpoint_name=place.naming.regional_name(spec.name),
            workspace_name=workspace_name,
            resource_group_name=place.resource_group_name,
            location=place.site.location,
            kind="Managed",
            identity=ml.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[identity.id]
            ),
            properties=ml.OnlineEndpointPropertiesArgs(
                # Entra ID tokens only: API Management calls with its managed identity, no keys to leak.
                auth_mode="AADToken",
                public_network_access=place.site.public_access,
                description=f"{spec.name} (deployments managed by the kdap operator)",
            ),
            tags=place.naming.tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=OPERATOR_OWNED),
        )
