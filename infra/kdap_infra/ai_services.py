"""Optional AI services for the personalization workload: Azure OpenAI, AI Search and Content Safety."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import cognitiveservices as cog
from pulumi_azure_native import search

from kdap_infra.ai_services_config import AiServicesConfig
from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.site import Placement

# Azure AI Content Safety's harm categories, as Azure OpenAI content filters name them.
HARM_CATEGORIES = ("Hate", "Sexual", "Violence", "Selfharm")
RAI_POLICY = "kdap-blocking"


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
        self.openai = cognitive_account(place, "openai", "OpenAI", parent=self)
        self.content_safety = cognitive_account(place, "safety", "ContentSafety", parent=self)
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
        self.rai_policy, self.deployment = self._openai_deployment(config)
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

    def _openai_deployment(self, config: AiServicesConfig) -> tuple[cog.RaiPolicy, cog.Deployment]:
        """The model deployment behind a content filter: every harm category blocked from
        ``contentFilterSeverity`` on prompts and completions, and Prompt Shields (jailbreak) on prompts."""
        rg, account = self._place.resource_group_name, self.openai.name
        filters = [
            cog.RaiPolicyContentFilterArgs(
                name=category,
                severity_threshold=config.content_filter_severity,
                blocking=True,
                enabled=True,
                source=source,
            )
            for category in HARM_CATEGORIES
            for source in ("Prompt", "Completion")
        ]
        filters.append(
            cog.RaiPolicyContentFilterArgs(name="Jailbreak", blocking=True, enabled=True, source="Prompt")
        )
        policy = cog.RaiPolicy(
            "openai-rai",
            account_name=account,
            resource_group_name=rg,
            rai_policy_name=RAI_POLICY,
            properties=cog.RaiPolicyPropertiesArgs(
                base_policy_name="Microsoft.DefaultV2", mode="Blocking", content_filters=filters
            ),
            tags=self._place.naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        deployment = cog.Deployment(
            "openai-deployment",
            account_name=account,
            resource_group_name=rg,
            deployment_name=config.openai_model,
            sku=cog.SkuArgs(name="Standard", capacity=config.openai_capacity),
            properties=cog.DeploymentPropertiesArgs(
                model=cog.DeploymentModelArgs(
                    format="OpenAI", name=config.openai_model, version=config.openai_model_version
                ),
                rai_policy_name=policy.name,
                # A pinned version: a model upgrade is a change someone reviews, as any other.
                version_upgrade_option="NoAutoUpgrade",
            ),
            tags=self._place.naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return policy, deployment


def cognitive_account(
    place: Placement, key: str, kind: str, parent: pulumi.Resource, resource_name: str | None = None
) -> cog.Account:
    """An Azure AI services account as the platform wants every one: Entra ID only (local keys off), closed to
    the public and to outbound traffic in prod. ``key`` names it; ``resource_name`` keeps an existing logical
    name so a refactor does not replace a deployed account."""
    site, naming = place.site, place.naming
    account_name = naming.hyphen_global_name(key, max_len=64)
    deny = site.is_prod
    return cog.Account(
        resource_name or key,
        account_name=account_name,
        resource_group_name=place.resource_group_name,
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
        opts=pulumi.ResourceOptions(parent=parent),
    )
