"""Required tags on every taggable resource; the `env` tag also decides which rules are production rules."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity
from pydantic import Field

from kdap_policies import builtins
from kdap_policies.config import PolicyConfig
from kdap_policies.resource import ENV_TAG, Resource
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

# ARM types with tags and a location (Azure Policy's "Indexed" mode, which the built-in uses) that a
# declaration may leave untagged; any other azure-native resource that carries `tags` is checked too.
TAGGABLE = frozenset(
    f"azure-native:{token}"
    for token in (
        "resources:ResourceGroup",
        "storage:StorageAccount",
        "keyvault:Vault",
        "machinelearningservices:Workspace",
        "machinelearningservices:Compute",
        "machinelearningservices:OnlineEndpoint",
        "machinelearningservices:OnlineDeployment",
        "machinelearningservices:Registry",
        "containerregistry:Registry",
        "apimanagement:ApiManagementService",
        "operationalinsights:Workspace",
        "applicationinsights:Component",
        "monitor:ActionGroup",
        "monitor:MetricAlert",
        "monitor:ScheduledQueryRule",
        "monitor:AutoscaleSetting",
        "managedidentity:UserAssignedIdentity",
        "network:VirtualNetwork",
        "network:NetworkSecurityGroup",
        "network:PrivateEndpoint",
        "network:PublicIPAddress",
        "privatedns:PrivateZone",
    )
)


class TagsConfig(PolicyConfig):
    required_tags: tuple[str, ...] = Field(
        default=("env", "owner", "cost-center"),
        description="Tags every taggable resource must carry, non-empty.",
    )
    allowed_environments: tuple[str, ...] = Field(
        default=("dev", "test", "staging", "prod"),
        min_length=1,
        description="Values the `env` tag may take; a typo would otherwise escape the production rules.",
    )


def _applies(resource: Resource) -> bool:
    return resource.type in TAGGABLE or (
        resource.type.startswith("azure-native:") and "tags" in resource.props
    )


def _required_tags(resource: Resource, config: TagsConfig) -> Iterator[Finding]:
    if not _applies(resource):
        return
    tags = resource.tags
    missing = [t for t in config.required_tags if not str(tags.get(t) or "").strip()]
    if missing:
        yield Finding(
            "tags",
            f"lacks {', '.join(missing)}",
            f"set tags={{{', '.join(repr(t) + ': ...' for t in missing)}}}",
        )
    env = tags.get(ENV_TAG)
    if env and ENV_TAG in config.required_tags and env not in config.allowed_environments:
        yield Finding(
            f"tags['{ENV_TAG}']",
            f"is {env!r}, not one of {', '.join(config.allowed_environments)}",
            f"use one of {', '.join(config.allowed_environments)}",
        )


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "required-tags",
        "Taggable resources carry env, owner and cost-center tags.",
        None,
        _required_tags,
        TagsConfig,
        builtins.REQUIRE_TAG,
        severity=Severity.LOW,
    ),
)
