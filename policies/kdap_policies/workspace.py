"""Azure ML workspace rules: network isolation in production, CMK and HBI on request, identities not keys."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity
from pydantic import Field

from kdap_policies import builtins
from kdap_policies.config import EnvironmentConfig, PolicyConfig
from kdap_policies.resource import Resource, as_strings, is_true, same
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

WORKSPACE = frozenset({"azure-native:machinelearningservices:Workspace"})
APPROVED_OUTBOUND = "AllowOnlyApprovedOutbound"


class EncryptionConfig(PolicyConfig):
    require_customer_managed_key: bool = Field(
        default=False, description="The stack encrypts workspaces with its own Key Vault key."
    )


class HbiConfig(PolicyConfig):
    require_high_business_impact: bool = Field(
        default=False, description="The stack's workspaces hold high-business-impact data (hbiWorkspace)."
    )


def _network(resource: Resource, config: EnvironmentConfig) -> Iterator[Finding]:
    if not resource.is_prod(config.prod_environments):
        return
    if not same(resource.get("publicNetworkAccess"), "Disabled"):
        yield Finding(
            "publicNetworkAccess",
            f"is {resource.get('publicNetworkAccess') or 'not set (Enabled)'} "
            f"in production (env={resource.environment})",
            "set public_network_access='Disabled' and reach the workspace through a private endpoint",
        )
    if is_true(resource.get("allowPublicAccessWhenBehindVnet")):
        yield Finding(
            "allowPublicAccessWhenBehindVnet",
            "is true in production, reopening the private workspace",
            "remove allow_public_access_when_behind_vnet or set it False",
        )


def _approved_outbound(resource: Resource, config: EnvironmentConfig) -> Iterator[Finding]:
    mode = resource.get("managedNetwork.isolationMode")
    if resource.is_prod(config.prod_environments) and not same(mode, APPROVED_OUTBOUND):
        yield Finding(
            "managedNetwork.isolationMode",
            f"is {mode or 'not set (Disabled)'} in production: outbound traffic is not limited to approved "
            "targets",
            f"set managed_network={{'isolation_mode': '{APPROVED_OUTBOUND}'}} and declare outbound rules",
        )


def _customer_managed_key(resource: Resource, config: EncryptionConfig) -> Iterator[Finding]:
    encryption = resource.get("encryption")
    if encryption is None and not config.require_customer_managed_key:
        return
    fix = (
        "set encryption={'status': 'Enabled', 'key_vault_properties': {'key_identifier': <key uri>, "
        "'key_vault_arm_id': <vault id>}, 'identity': {'user_assigned_identity': <identity id>}}"
    )
    if not same(resource.get("encryption.status"), "Enabled"):
        yield Finding(
            "encryption.status",
            f"is {resource.get('encryption.status') or 'not set'}: the stack requires a customer-managed key",
            fix,
        )
        return
    for key in ("keyIdentifier", "keyVaultArmId"):
        if not resource.get(f"encryption.keyVaultProperties.{key}"):
            yield Finding(
                f"encryption.keyVaultProperties.{key}", "is not set, so the key cannot be resolved", fix
            )


def _high_business_impact(resource: Resource, config: HbiConfig) -> Iterator[Finding]:
    if config.require_high_business_impact and not is_true(resource.get("hbiWorkspace")):
        yield Finding(
            "hbiWorkspace",
            "is not true but the stack holds high-business-impact data",
            "set hbi_workspace=True (only at creation: it forces replacement)",
        )


def _user_assigned_identity(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    kind = str(resource.get("identity.type") or "")
    identities = [i.lower() for i in as_strings(resource.get("identity.userAssignedIdentities"))]
    primary = resource.get("primaryUserAssignedIdentity")
    fix = (
        "set identity={'type': 'UserAssigned', 'user_assigned_identities': [<identity id>]} and "
        "primary_user_assigned_identity=<identity id>"
    )
    if "userassigned" not in kind.lower() or not identities:
        yield Finding("identity", f"is {kind or 'not set'} with no user-assigned identity", fix)
    elif not isinstance(primary, str) or not primary:
        yield Finding(
            "primaryUserAssignedIdentity", "is not set, so Azure ML falls back to a system identity", fix
        )
    elif primary.lower() not in identities:
        yield Finding("primaryUserAssignedIdentity", "is not one of identity.userAssignedIdentities", fix)


def _identity_datastores(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    # With shared keys off on the storage account, key-based system datastores cannot work at all.
    mode = resource.get("systemDatastoresAuthMode")
    if not same(mode, "identity"):
        yield Finding(
            "systemDatastoresAuthMode",
            f"is {mode or 'not set (accessKey)'}: datastores use account keys",
            "set system_datastores_auth_mode='identity'",
        )


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "workspace-network-closed-in-prod",
        "Production ML workspaces disable public network access.",
        WORKSPACE,
        _network,
        EnvironmentConfig,
        builtins.ML_PUBLIC_NETWORK,
    ),
    ResourceRule(
        "workspace-approved-outbound-in-prod",
        "Production ML workspaces use a managed network limited to approved outbound traffic.",
        WORKSPACE,
        _approved_outbound,
        EnvironmentConfig,
        builtins.ML_APPROVED_OUTBOUND,
    ),
    ResourceRule(
        "workspace-customer-managed-key",
        "ML workspaces use a complete customer-managed key when the stack asks for one.",
        WORKSPACE,
        _customer_managed_key,
        EncryptionConfig,
        builtins.ML_CMK,
    ),
    ResourceRule(
        "workspace-high-business-impact",
        "ML workspaces are flagged HBI when the stack asks for it.",
        WORKSPACE,
        _high_business_impact,
        HbiConfig,
        builtins.closest(builtins.ML_CMK),
        severity=Severity.MEDIUM,
    ),
    ResourceRule(
        "workspace-user-assigned-identity",
        "ML workspaces run as a user-assigned managed identity.",
        WORKSPACE,
        _user_assigned_identity,
        PolicyConfig,
        builtins.ML_USER_ASSIGNED_IDENTITY,
    ),
    ResourceRule(
        "workspace-identity-datastores",
        "ML workspaces reach their datastores by identity, not keys.",
        WORKSPACE,
        _identity_datastores,
        PolicyConfig,
        builtins.closest(builtins.STORAGE_SHARED_KEY),
    ),
)
