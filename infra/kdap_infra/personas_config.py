"""The `personas` section of the stack config: the Entra ID groups of each access level, read by
`personas.PersonaGrants`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from kdap_infra.config_sections import UUID_PATTERN, Section

GroupId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]


class PersonasConfig(Section):
    readers: list[GroupId] = Field(
        [], description="Entra ID group object ids (GUIDs) that may watch models, metrics and logs"
    )
    deployers: list[GroupId] = Field(
        [], description="Entra ID group object ids (GUIDs) of ML engineers who deploy models"
    )
    admins: list[GroupId] = Field(
        [], description="Entra ID group object ids (GUIDs) who administer the platform's resource group"
    )
