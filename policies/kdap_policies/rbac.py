"""Role assignment rules: no privilege-granting roles, nothing at subscription scope or above."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity
from pydantic import Field

from kdap_policies import builtins
from kdap_policies.config import PolicyConfig
from kdap_policies.resource import Resource
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

ROLE_ASSIGNMENT = frozenset({"azure-native:authorization:RoleAssignment"})

# Roles that let their holder grant access to others (the escalation path), by built-in id.
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}
_BROAD_SCOPE = re.compile(
    r"^/(subscriptions/[^/]+|providers/Microsoft\.Management/managementGroups/[^/]+)?/?$", re.I
)


class PrivilegedRolesConfig(PolicyConfig):
    denied_role_ids: tuple[str, ...] = Field(
        default=tuple(PRIVILEGED_ROLES),
        description="Role definition GUIDs that must never be assigned by this stack.",
    )


def _role_guid(role_definition_id: str) -> str:
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _privileged_role(resource: Resource, config: PrivilegedRolesConfig) -> Iterator[Finding]:
    role = resource.get("roleDefinitionId")
    guid = _role_guid(role) if isinstance(role, str) else ""
    if guid in {d.lower() for d in config.denied_role_ids}:
        label = PRIVILEGED_ROLES.get(guid, "a denied role")
        yield Finding(
            "roleDefinitionId",
            f"grants {label} ({guid}), which can hand out access to anyone",
            "assign the narrowest data-plane or AzureML role the principal needs",
        )


def _broad_scope(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    scope = resource.get("scope")
    if isinstance(scope, str) and _BROAD_SCOPE.match(scope):
        yield Finding(
            "scope",
            f"is {scope!r}: the grant reaches every resource group in it",
            "scope the assignment to the resource (or at most the resource group) that needs it",
        )


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "rbac-no-privileged-roles",
        "Role assignments never grant Owner or access-administration roles.",
        ROLE_ASSIGNMENT,
        _privileged_role,
        PrivilegedRolesConfig,
        builtins.closest(builtins.MAX_THREE_OWNERS),
        severity=Severity.CRITICAL,
    ),
    ResourceRule(
        "rbac-no-subscription-scope",
        "Role assignments are scoped below the subscription.",
        ROLE_ASSIGNMENT,
        _broad_scope,
        PolicyConfig,
        None,
    ),
)
