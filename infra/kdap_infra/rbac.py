"""Role assignments by built-in role id, each at the narrowest scope that works."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from kdap_infra.naming import Naming
from kdap_infra.roles import Role, role_definition_id


@dataclass(frozen=True)
class CustomRole:
    """A role this program defines, for permissions no built-in role grants narrowly enough."""

    label: str
    guid: str
    definition: authorization.RoleDefinition


@dataclass(frozen=True)
class Grant:
    principal: str  # logical name of the identity, for stable assignment names
    principal_id: pulumi.Input[str]  # a user-assigned identity's, or a resource's system-assigned one
    role: Role | CustomRole
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
        seen: set[tuple[str, str, str]] = set()
        self.assignments: list[authorization.RoleAssignment] = []
        for grant in grants:
            key = (grant.principal, _role_guid(grant.role), grant.scope_name)
            if key in seen:
                raise ValueError(
                    f"{_label(grant.role)} granted twice to {grant.principal} on {grant.scope_name}"
                )
            seen.add(key)
            self.assignments.append(self._assign(naming, subscription_id, grant))
        self.register_outputs({"count": len(self.assignments)})

    def _assign(
        self, naming: Naming, subscription_id: pulumi.Input[str], grant: Grant
    ) -> authorization.RoleAssignment:
        guid = _role_guid(grant.role)
        role_id = pulumi.Output.from_input(subscription_id).apply(lambda sub: role_definition_id(sub, guid))
        depends: list[pulumi.Resource] = [grant.role.definition] if isinstance(grant.role, CustomRole) else []
        return authorization.RoleAssignment(
            f"ra-{grant.principal}-{_label(grant.role)}-{grant.scope_name}",
            role_assignment_name=naming.assignment_id(grant.principal, guid, grant.scope_name),
            principal_id=grant.principal_id,
            # Without it a freshly created identity can fail with PrincipalNotFound (Entra replication delay).
            principal_type="ServicePrincipal",
            role_definition_id=role_id,
            scope=grant.scope,
            description=grant.why,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )


def _role_guid(role: Role | CustomRole) -> str:
    return role.value if isinstance(role, Role) else role.guid


def _label(role: Role | CustomRole) -> str:
    return role.name.lower().replace("_", "-") if isinstance(role, Role) else role.label


# The only permission the gateway needs on an endpoint; AzureML Data Scientist would also let it redeploy.
SCORE_ACTION = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action"


def custom_role(
    naming: Naming,
    label: str,
    scope_name: str,
    title: str,
    description: str,
    scope: pulumi.Input[str],
    actions: list[str],
    parent: pulumi.Resource,
) -> CustomRole:
    """A role of exactly ``actions``, defined and assignable at ``scope`` only."""
    guid = naming.assignment_id("custom-role", label, scope_name)
    definition = authorization.RoleDefinition(
        f"role-{label}",
        role_definition_id=guid,
        # Role names are unique per tenant, so the stack's name and suffix are part of it.
        role_name=f"kdap {naming.env} {naming.suffix} {title}",
        description=description,
        scope=scope,
        assignable_scopes=[scope],
        permissions=[authorization.PermissionArgs(actions=actions)],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return CustomRole(label, guid, definition)


def endpoint_scorer_role(
    naming: Naming, workspace_id: pulumi.Input[str], parent: pulumi.Resource
) -> CustomRole:
    actions = ["Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read", SCORE_ACTION]
    description = "Score Azure ML online endpoints; nothing else."
    return custom_role(
        naming,
        "endpoint-scorer",
        "workspace",
        "online endpoint scorer",
        description,
        workspace_id,
        actions,
        parent,
    )


# Serverless endpoints publish no score action: the provider's operations on them are read, write, delete,
# listKeys and regenerateKeys. So the gateway gets read on its one endpoint and nothing that changes it or
# reveals keys (listKeys would hand out what auth_mode AAD avoids; AzureML Data Scientist would also let it
# redeploy or delete the model). README "Serverless and LLM models" says how to confirm it with a live call.
SERVERLESS_READ_ACTION = "Microsoft.MachineLearningServices/workspaces/serverlessEndpoints/read"


def serverless_caller_role(
    naming: Naming, workspace_id: pulumi.Input[str], parent: pulumi.Resource
) -> CustomRole:
    """Call a serverless endpoint with an Entra token; assigned on the endpoint itself."""
    description = "Call Azure ML serverless endpoints with Entra ID tokens; no keys, no changes."
    return custom_role(
        naming,
        "serverless-caller",
        "workspace",
        "serverless endpoint caller",
        description,
        workspace_id,
        [SERVERLESS_READ_ACTION],
        parent,
    )


# What the operator does in API Management: write each model's promoted version into its named value.
NAMED_VALUE_ACTIONS = [
    "Microsoft.ApiManagement/service/read",
    "Microsoft.ApiManagement/service/namedValues/read",
    "Microsoft.ApiManagement/service/namedValues/write",
]


def named_value_writer_role(
    naming: Naming, service_id: pulumi.Input[str], parent: pulumi.Resource
) -> CustomRole:
    """API Management Service Contributor would let the operator change APIs and policies; this is only the
    named values (the promoted model version in each model's cache key)."""
    title = "API Management named value writer"
    description = "Read and write API Management named values; nothing else."
    return custom_role(
        naming, "named-value-writer", "apim", title, description, service_id, NAMED_VALUE_ACTIONS, parent
    )
