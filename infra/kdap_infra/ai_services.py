"""Optional AI services for the personalization workload: Azure OpenAI, AI Search and Content Safety."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import cognitiveservices as cog
from pulumi_azure_native import search

from kdap_infra.ai_services_config import AiServicesConfig
from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.site import Placement


class AiServices(pulumi.ComponentResource):
    """Entra ID only (local keys off) and closed to the public in prod, like the rest of the platform."""

    def __init__(
        self,
        name: str,
        place: Placement,
        config: AiServicesConfig,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ai:AiServices", name, None, opts)
        self._place = place
        site, naming = place.site, place.naming
        self.openai = self._account("openai", "OpenAI")
        self.content_safety = self._account("safety", "ContentSafety")
        self.search = search.Service(
            "search",
            search_service_name=naming.hyphen_global_name("srch", max_len=60),
            resource_group_name=place.resource_group_name,
            location=site.location,
            sku=search.SkuArgs(name=config.search_sku),
            disable_local_auth=True,
            public_network_access=site.public_access,
            identity=search.IdentityArgs(type="SystemAssigned"),
            replica_count=2 if site.is_prod else 1,
            partition_count=1,
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for key, target in (
            ("openai", self.openai.id),
            ("safety", self.content_safety.id),
            ("search", self.search.id),
        ):
            send_to_log_analytics(key, target_id=target, workspace_id=place.log_analytics_id, parent=self)
        self.register_outputs(
            {
                "openai_id": self.openai.id,
                "content_safety_id": self.content_safety.id,
                "search_id": self.search.id,
            }
        )

    def _account(self, key: str, kind: str) -> cog.Account:
        site, naming = self._place.site, self._place.naming
        account_name = naming.hyphen_global_name(key, max_len=64)
        deny = site.is_prod
        return cog.Account(
            key,
            account_name=account_name,
            resource_group_name=self._place.resource_group_name,
            location=site.location,
            kind=kind,
            sku=cog.SkuArgs(name="S0"),
            identity=cog.IdentityArgs(type="SystemAssigned"),
            properties=cog.AccountPropertiesArgs(
                # A custom subdomain is what Entra ID token authentication requires.
                custom_sub_domain_name=account_name,
                disable_local_auth=True,
                public_network_access=site.public_access,
                network_acls=cog.NetworkRuleSetArgs(
                    default_action="Deny" if deny else "Allow", bypass="AzureServices"
                ),
                restrict_outbound_network_access=deny,
            ),
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
