"""Optional serverless (pay-per-token) model endpoint: the base model the LoRA-adapter workload calls."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from kdap_infra.llm_gateway import LlmBackend
from kdap_infra.serverless_config import ServerlessConfig
from kdap_infra.site import Placement

# Models from Microsoft's own registry need no Azure Marketplace subscription; partners' models do.
FIRST_PARTY_REGISTRY = "azureml://registries/azureml/"


def needs_marketplace(model_id: str) -> bool:
    return not model_id.startswith(FIRST_PARTY_REGISTRY)


class ServerlessModel(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        config: ServerlessConfig,
        workspace_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:ServerlessModel", name, None, opts)
        self._place = place
        self.endpoint_name = place.naming.regional_name(config.name)
        resource_group_name = place.resource_group_name
        depends: list[pulumi.Resource] = []
        if needs_marketplace(config.model_id):
            depends.append(
                ml.MarketplaceSubscription(
                    "serverless-offer",
                    name=config.name,
                    workspace_name=workspace_name,
                    resource_group_name=resource_group_name,
                    properties=ml.MarketplaceSubscriptionPropertiesArgs(model_id=config.model_id),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.endpoint = ml.ServerlessEndpoint(
            "serverless",
            name=self.endpoint_name,
            workspace_name=workspace_name,
            resource_group_name=resource_group_name,
            location=place.site.location,
            sku=ml.SkuArgs(name="Consumption"),
            properties=ml.ServerlessEndpointPropertiesArgs(
                # Entra ID tokens, like the online endpoints: no keys to rotate or leak.
                auth_mode="AAD",
                model_settings=ml.ModelSettingsArgs(model_id=config.model_id),
                content_safety=ml.ContentSafetyArgs(content_safety_status="Enabled"),
            ),
            tags=place.naming.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        self.register_outputs({"serverless_endpoint_id": self.endpoint.id})

    def backend(self) -> LlmBackend:
        """The inference URL serves the OpenAI-style routes (/chat/completions) itself."""
        url = self.endpoint.properties.apply(
            lambda p: (p.inference_endpoint.uri if p.inference_endpoint else "") or ""
        )
        return LlmBackend(self.endpoint_name, url, f"{self.endpoint_name} serverless endpoint")
