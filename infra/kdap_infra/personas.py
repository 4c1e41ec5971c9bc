"""Three access levels for people, as Azure role assignments to Entra ID groups at the narrowest scope.

| persona  | roles (scope)                                                                           |
|----------|-----------------------------------------------------------------------------------------|
| reader   | Reader (ML workspace), Log Analytics Reader (Log Analytics workspace)                    |
| deployer | AzureML Data Scientist (ML workspace), AcrPush (container registry), Log Analytics Reader |
| admin    | Contributor (resource group)                                                             |

No persona gets Owner or an access-administration role: who may grant access stays outside the stack.
The Kubernetes side of the same personas is `deploy/kustomize/base/personas.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pulumi
from pulumi_azure_native import authorization

from kdap_infra.naming import Naming
from kdap_infra.personas_config import PersonasConfig
from kdap_infra.roles import Role, role_definition_id


class Persona(StrEnum):
    READER = "reader"
    DEPLOYER = "deployer"
    ADMIN = "admin"


@dataclass(frozen=True)
class Scopes:
    """The resources personas are granted on, by logical name (for stable assignment names)."""

    resource_group: pulumi.Input[str]
    workspace: pulumi.Input[str]
    log_analytics: pulumi.Input[str]
    container_registry: pulumi.Input[str]


# persona -> (role, logical scope name); the scope names index `Scopes`.
PERSONA_ROLES: dict[Persona, tuple[tuple[Role, str], ...]] = {
    Persona.READER: ((Role.READER, "workspace"), (Role.LOG_ANALYTICS_READER, "log_analytics")),
    Persona.DEPLOYER: (
        (Role.AZUREML_DATA_SCIENTIST, "workspace"),
        (Role.ACR_PUSH, "container_registry"),  # images for Kubernetes targets
        (Role.LOG_ANALYTICS_READER, "log_analytics"),
    ),
    Persona.ADMIN: ((Role.CONTRIBUTOR, "resource_group"),),
}
# Written to each assignment's description; the policy pack reads the persona back from it.
DESCRIPTION_PREFIX = "kdap persona "


def groups_of(config: PersonasConfig) -> dict[Persona, list[str]]:
    return {
        Persona.READER: config.readers,
        Persona.DEPLOYER: config.deployers,
        Persona.ADMIN: config.admins,
    }


class PersonaGrants(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        naming: Naming,
        subscription_id: pulumi.Input[str],
        config: PersonasConfig,
        scopes: Scopes,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:identity:PersonaGrants", name, None, opts)
        self.assignments: list[authorization.RoleAssignment] = []
        for persona, groups in groups_of(config).items():
            for group in groups:
                for role, scope_name in PERSONA_ROLES[persona]:
                    self.assignments.append(
                        self._assign(naming, subscription_id, persona, group, role, scope_name, scopes)
                    )
        self.register_outputs({"count": len(self.assignments)})

    def _assign(
        self,
        naming: Naming,
        subscription_id: pulumi.Input[str],
        persona: Persona,
        group: str,
        role: Role,
        scope_name: str,
        scopes: Scopes,
    ) -> authorization.RoleAssignment:
        guid = role.value
        label = role.name.lower().replace("_", "-")
        return authorization.RoleAssignment(
            f"ra-{persona}-{group[:8]}-{label}",
            role_assignment_name=naming.assignment_id(f"group/{group}", guid, scope_name),
            principal_id=group,
            principal_type="Group",
            role_definition_id=pulumi.Output.from_input(subscription_id).apply(
                lambda sub: role_definition_id(sub, guid)
            ),
            scope=getattr(scopes, scope_name),
            description=f"{DESCRIPTION_PREFIX}{persona}: {label} on the {scope_name.replace('_', ' ')}",
            opts=pulumi.ResourceOptions(parent=self),
        )
