"""Optional serverless (pay-per-token) model endpoint: the base model the LoRA-adapter workload calls."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from kdap_infra.config import PlatformConfig
from kdap_infra.naming import Naming

# Models from Microsoft's own registry need no Azure Marketplace subscription; partners' models do.
FIRST_PARTY_REGISTRY = "azureml://registries/azureml/"


def needs_marketplace(model_id: str) -> bool:
    return not model_id.startswith(FIRST_PARTY_REGISTRY)


class ServerlessModel(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        naming: Naming,
        resource_group_name: pulumi.Input[str],
        workspace_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:ServerlessModel", name, None, opts)
        spec = config.serverless
        depends: list[pulumi.Resource] = []
        if needs_marketplace(spec.model_id):
            depends.append(
                ml.MarketplaceSubscription(
                    "serverless-offer",
                    name=spec.name,
                    workspace_name=workspace_name,
                    resource_group_name=resource_group_name,
                    properties=ml.MarketplaceSubscriptionPropertiesArgs(model_id=spec.model_id),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.endpoint = ml.ServerlessEndpoint(
            "serverless",
            name=naming.regional_name(spec.name),
            workspace_name=workspace_name,
            resource_group_name=resource_group_name,
            location=config.location,
            sku=ml.SkuArgs(name="Consumption"),
            properties=ml.ServerlessEndpointPropertiesArgs(
                # Entra ID tokens, like the online endpoints: no keys to rotate or leak.
                auth_mode="AAD",
                model_settings=ml.ModelSettingsArgs(model_id=spec.model_id),
                content_safety=ml.ContentSafetyArgs(content_safety_status="Enabled"),
            ),
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        self.register_outputs({"serverless_endpoint_id": self.endpoint.id})
