"""User-assigned managed identities, one per workload, and the operator's federated credential."""

from __future__ import annotations

from enum import StrEnum

import pulumi
from pulumi_azure_native import managedidentity

from kdap_infra.operator_config import OperatorConfig
from kdap_infra.site import Placement

# Kubernetes service-account tokens are exchanged for Entra tokens with this audience.
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


class Workload(StrEnum):
    WORKSPACE = "workspace"
    COMPUTE = "compute"
    ENDPOINTS = "endpoints"
    OPERATOR = "operator"
    GATEWAY = "gateway"


class Identities(pulumi.ComponentResource):
    """Separate identities keep each workload's grants narrow and auditable."""

    def __init__(
        self,
        name: str,
        place: Placement,
        config: OperatorConfig,
        oidc_issuer_url: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:identity:Identities", name, None, opts)
        naming, resource_group_name = place.naming, place.resource_group_name
        self.by_workload: dict[Workload, managedidentity.UserAssignedIdentity] = {
            workload: managedidentity.UserAssignedIdentity(
                f"id-{workload.value}",
                resource_name_=naming.name(f"id-{workload.value}"),
                resource_group_name=resource_group_name,
                location=place.site.location,
                tags=naming.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for workload in Workload
        }
        operator = self.by_workload[Workload.OPERATOR]
        subject = f"system:serviceaccount:{config.namespace}:{config.service_account}"
        self.operator_credential = managedidentity.FederatedIdentityCredential(
            "id-operator-fic",
            federated_identity_credential_resource_name="kubernetes-operator",
            resource_name_=operator.name,
            resource_group_name=resource_group_name,
            issuer=oidc_issuer_url,
            subject=subject,
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {f"{w.value}_client_id": identity.client_id for w, identity in self.by_workload.items()}
        )

    def __getitem__(self, workload: Workload) -> managedidentity.UserAssignedIdentity:
        return self.by_workload[workload]
