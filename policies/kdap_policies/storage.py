"""Storage account rules: TLS, HTTPS, no anonymous blobs, no shared keys, closed network in production."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pulumi_policy import Severity
from pydantic import Field

from kdap_policies import builtins
from kdap_policies.config import EnvironmentConfig, PolicyConfig
from kdap_policies.resource import Resource, is_false, is_true, same
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

STORAGE_ACCOUNT = frozenset({"azure-native:storage:StorageAccount"})
_TLS_ORDER = ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3")


class MinTlsConfig(PolicyConfig):
    minimum_tls_version: Literal["TLS1_2", "TLS1_3"] = Field(
        default="TLS1_2", description="Lowest TLS version a storage account may accept."
    )


def _min_tls(resource: Resource, config: MinTlsConfig) -> Iterator[Finding]:
    version = resource.get("minimumTlsVersion")
    wanted = config.minimum_tls_version
    fix = f"set minimum_tls_version='{wanted}'"
    if version is None:
        yield Finding(
            "minimumTlsVersion", f"is not set (older API versions default to TLS1_0), need {wanted}", fix
        )
    elif version not in _TLS_ORDER or _TLS_ORDER.index(version) < _TLS_ORDER.index(wanted):
        yield Finding("minimumTlsVersion", f"is {version!r}, below {wanted}", fix)


def _https_only(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    # Azure defaults to HTTPS-only since API 2019-04-01, so only an explicit opt-out is a violation.
    if is_false(resource.get("enableHttpsTrafficOnly")):
        yield Finding(
            "enableHttpsTrafficOnly", "is false: plain HTTP is accepted", "set enable_https_traffic_only=True"
        )


def _no_public_blob(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    value = resource.get("allowBlobPublicAccess")
    if not is_false(value):
        problem = "is true" if is_true(value) else "is not set (older API versions allow it)"
        yield Finding(
            "allowBlobPublicAccess",
            f"{problem}: containers may be read anonymously",
            "set allow_blob_public_access=False",
        )


def _no_shared_key(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    value = resource.get("allowSharedKeyAccess")
    if not is_false(value):
        problem = "is true" if is_true(value) else "is not set (null means allowed)"
        yield Finding(
            "allowSharedKeyAccess",
            f"{problem}: account keys bypass Entra ID and RBAC",
            "set allow_shared_key_access=False and give identities Storage Blob Data roles",
        )


def _network(resource: Resource, config: EnvironmentConfig) -> Iterator[Finding]:
    if not resource.is_prod(config.prod_environments):
        return
    closed = same(resource.get("publicNetworkAccess"), "Disabled")
    default_deny = same(resource.get("networkRuleSet.defaultAction"), "Deny")
    if not (closed or default_deny):
        yield Finding(
            "publicNetworkAccess",
            f"is {resource.get('publicNetworkAccess') or 'not set'} and networkRuleSet.defaultAction is "
            f"{resource.get('networkRuleSet.defaultAction') or 'not set'} "
            f"in production (env={resource.environment})",
            "set public_network_access='Disabled' and use private endpoints, "
            "or network_rule_set={'default_action': 'Deny', ...}",
        )


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "storage-minimum-tls",
        "Storage accounts accept TLS 1.2 or later only.",
        STORAGE_ACCOUNT,
        _min_tls,
        MinTlsConfig,
        builtins.STORAGE_MIN_TLS,
    ),
    ResourceRule(
        "storage-https-only",
        "Storage accounts accept HTTPS only.",
        STORAGE_ACCOUNT,
        _https_only,
        PolicyConfig,
        builtins.STORAGE_SECURE_TRANSFER,
    ),
    ResourceRule(
        "storage-no-public-blob-access",
        "Storage accounts forbid anonymous blob access.",
        STORAGE_ACCOUNT,
        _no_public_blob,
        PolicyConfig,
        builtins.STORAGE_NO_PUBLIC_BLOB,
        severity=Severity.CRITICAL,
    ),
    ResourceRule(
        "storage-no-shared-key",
        "Storage accounts disable shared key (account key) authorization.",
        STORAGE_ACCOUNT,
        _no_shared_key,
        PolicyConfig,
        builtins.STORAGE_SHARED_KEY,
    ),
    ResourceRule(
        "storage-network-closed-in-prod",
        "Production storage accounts disable public network access or deny it by default.",
        STORAGE_ACCOUNT,
        _network,
        EnvironmentConfig,
        builtins.STORAGE_PUBLIC_NETWORK,
    ),
)
