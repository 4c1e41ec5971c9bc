"""Optional AI services for the personalization workload: Azure OpenAI, AI Search and Content Safety."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import cognitiveservices as cog
from pulumi_azure_native import search

from kdap_infra.config import PlatformConfig
from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.foundation import public_access
from kdap_infra.naming import Naming


class AiServices(pulumi.ComponentResource):
    """Entra ID only (local keys off) and closed to the public in prod, like the rest of the platform."""

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        naming: Naming,
        resource_group_name: pulumi.Input[str],
        log_analytics_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ai:AiServices", name, None, opts)
        self._config, self._naming, self._rg = config, naming, resource_group_name
        self.openai = self._account("openai", "OpenAI")
        self.content_safety = self._account("safety", "ContentSafety")
        self.search = search.Service(
            "search",
            search_service_name=naming.hyphen_global_name("srch", max_len=60),
            resource_group_name=resource_group_name,
            location=config.location,
            sku=search.SkuArgs(name=config.ai_services.search_sku),
            disable_local_auth=True,
            public_network_access=public_access(config),
            identity=search.IdentityArgs(type="SystemAssigned"),
            replica_count=2 if config.is_prod else 1,
            partition_count=1,
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for key, target in (
            ("openai", self.openai.id),
            ("safety", self.content_safety.id),
            ("search", self.search.id),
        ):
            send_to_log_analytics(key, target_id=target, workspace_id=log_analytics_id, parent=self)
        self.register_outputs(
            {
                "openai_id": self.openai.id,
                "content_safety_id": self.content_safety.id,
                "search_id": self.search.id,
            }
        )

    def _account(self, key: str, kind: str) -> cog.Account:
        account_name = self._naming.hyphen_global_name(key, max_len=64)
        deny = self._config.is_prod
        return cog.Account(
            key,
            account_name=account_name,
            resource_group_name=self._rg,
            location=self._config.location,
            kind=kind,
            sku=cog.SkuArgs(name="S0"),
            identity=cog.IdentityArgs(type="SystemAssigned"),
            properties=cog.AccountPropertiesArgs(
                # A custom subdomain is what Entra ID token authentication requires.
                custom_sub_domain_name=account_name,
                disable_local_auth=True,
                public_network_access=public_access(self._config),
                network_acls=cog.NetworkRuleSetArgs(
                    default_action="Deny" if deny else "Allow", bypass="AzureServices"
                ),
                restrict_outbound_network_access=deny,
            ),
            tags=self._naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
