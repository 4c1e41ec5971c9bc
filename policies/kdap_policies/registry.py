"""Container Registry rules: no admin user, no anonymous pull."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from kdap_policies import builtins
from kdap_policies.config import PolicyConfig
from kdap_policies.resource import Resource, is_true
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

REGISTRY = frozenset({"azure-native:containerregistry:Registry"})


# Both switches default to off in Azure, so only an explicit opt-in is a violation.
def _admin_user(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    if is_true(resource.get("adminUserEnabled")):
        yield Finding(
            "adminUserEnabled",
            "is true: a shared admin password can push and pull every image",
            "set admin_user_enabled=False and grant AcrPull/AcrPush to identities",
        )


def _anonymous_pull(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    if is_true(resource.get("anonymousPullEnabled")):
        yield Finding(
            "anonymousPullEnabled",
            "is true: anyone on the network can pull images",
            "set anonymous_pull_enabled=False",
        )


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "registry-admin-user-disabled",
        "Container registries have the admin user off.",
        REGISTRY,
        _admin_user,
        PolicyConfig,
        builtins.ACR_ADMIN,
    ),
    ResourceRule(
        "registry-anonymous-pull-disabled",
        "Container registries refuse anonymous pulls.",
        REGISTRY,
        _anonymous_pull,
        PolicyConfig,
        builtins.ACR_ANONYMOUS_PULL,
        severity=Severity.CRITICAL,
    ),
)
