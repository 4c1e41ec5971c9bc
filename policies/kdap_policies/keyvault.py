"""Key Vault rules: purge protection, soft delete with enough retention, RBAC, closed network in prod."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from kdap_policies import builtins
from kdap_policies.config import EnvironmentConfig, PolicyConfig
from kdap_policies.resource import Resource, is_false, is_true, same
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

VAULT = frozenset({"azure-native:keyvault:Vault"})
_AZURE_DEFAULT_RETENTION_DAYS = 90


class SoftDeleteConfig(PolicyConfig):
    min_retention_days: int = Field(
        default=7,
        ge=7,
        le=90,
        description="Fewest soft-delete retention days a vault may keep (Azure: 7-90).",
    )


def _purge_protection(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    if not is_true(resource.get("properties.enablePurgeProtection")):
        yield Finding(
            "properties.enablePurgeProtection",
            "is not true: a deleted vault and its keys can be purged before the retention period ends",
            "set properties.enable_purge_protection=True (it cannot be turned off again)",
        )


def _soft_delete(resource: Resource, config: SoftDeleteConfig) -> Iterator[Finding]:
    if is_false(resource.get("properties.enableSoftDelete")):
        yield Finding(
            "properties.enableSoftDelete", "is false", "remove enable_soft_delete=False (or set it True)"
        )
    days = resource.get("properties.softDeleteRetentionInDays")
    days = _AZURE_DEFAULT_RETENTION_DAYS if days is None else days
    if not isinstance(days, int | float) or days < config.min_retention_days:
        yield Finding(
            "properties.softDeleteRetentionInDays",
            f"is {days!r}, below the required {config.min_retention_days} days",
            f"set properties.soft_delete_retention_in_days to at least {config.min_retention_days}",
        )


def _rbac(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    if not is_true(resource.get("properties.enableRbacAuthorization")):
        yield Finding(
            "properties.enableRbacAuthorization",
            "is not true: access policies grant data-plane access outside Azure RBAC",
            "set properties.enable_rbac_authorization=True and grant Key Vault roles, not access policies",
        )


def _network(resource: Resource, config: EnvironmentConfig) -> Iterator[Finding]:
    if resource.is_prod(config.prod_environments) and not same(
        resource.get("properties.publicNetworkAccess"), "Disabled"
    ):
        yield Finding(
            "properties.publicNetworkAccess",
            f"is {resource.get('properties.publicNetworkAccess') or 'not set (Enabled)'} in production "
            f"(env={resource.environment})",
            "set properties.public_network_access='Disabled' and reach the vault through a private endpoint",
        )


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "keyvault-purge-protection",
        "Key vaults have purge protection on.",
        VAULT,
        _purge_protection,
        PolicyConfig,
        builtins.KV_PURGE_PROTECTION,
    ),
    ResourceRule(
        "keyvault-soft-delete",
        "Key vaults keep soft delete on with at least the configured retention.",
        VAULT,
        _soft_delete,
        SoftDeleteConfig,
        builtins.KV_SOFT_DELETE,
    ),
    ResourceRule(
        "keyvault-rbac-authorization",
        "Key vaults use the Azure RBAC permission model.",
        VAULT,
        _rbac,
        PolicyConfig,
        builtins.KV_RBAC,
    ),
    ResourceRule(
        "keyvault-network-closed-in-prod",
        "Production key vaults disable public network access.",
        VAULT,
        _network,
        EnvironmentConfig,
        builtins.KV_PUBLIC_NETWORK,
    ),
)
