"""Role assignments by built-in role id, each at the narrowest scope that works."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

from kdap_infra.naming import Naming
from kdap_infra.roles import Role, role_definition_id


@dataclass(frozen=True)
class Grant:
    principal: str  # logical name of the identity, for stable assignment names
    identity: managedidentity.UserAssignedIdentity
    role: Role
    scope_name: str  # logical name of the scope, for stable assignment names
    scope: pulumi.Input[str]
    why: str


class AccessGrants(pulumi.ComponentResource):
    """A batch of grants; batches let the workspace wait for the grants it needs at creation."""

    def __init__(
        self,
        name: str,
        naming: Naming,
        subscription_id: pulumi.Input[str],
        grants: list[Grant],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:identity:AccessGrants", name, None, opts)
        seen: set[tuple[str, Role, str]] = set()
        self.assignments: list[authorization.RoleAssignment] = []
        for grant in grants:
            key = (grant.principal, grant.role, grant.scope_name)
            if key in seen:
                raise ValueError(
                    f"role {grant.role.name} granted twice to {grant.principal} on {grant.scope_name}"
                )
            seen.add(key)
            self.assignments.append(self._assign(naming, subscription_id, grant))
        self.register_outputs({"count": len(self.assignments)})

    def _assign(
        self, naming: Naming, subscription_id: pulumi.Input[str], grant: Grant
    ) -> authorization.RoleAssignment:
        role_id = pulumi.Output.from_input(subscription_id).apply(
            lambda sub: role_definition_id(sub, grant.role)
        )
        return authorization.RoleAssignment(
            f"ra-{grant.principal}-{grant.role.name.lower().replace('_', '-')}-{grant.scope_name}",
            role_assignment_name=naming.assignment_id(grant.principal, grant.role.value, grant.scope_name),
            principal_id=grant.identity.principal_id,
            # Without it a freshly created identity can fail with PrincipalNotFound (Entra replication delay).
            principal_type="ServicePrincipal",
            role_definition_id=role_id,
            scope=grant.scope,
            description=grant.why,
            opts=pulumi.ResourceOptions(parent=self),
        )
