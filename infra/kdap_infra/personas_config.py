"""The `personas` section of the stack config: the Entra ID groups of each access level, read by
`personas.PersonaGrants`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from kdap_infra.config_sections import NAMESPACE, UUID_PATTERN, Section

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

    @model_validator(mode="after")
    def _one_level_per_group(self) -> PersonasConfig:
        """A group in two personas would hold the higher one's roles too; one listed twice (Azure compares
        object ids without case) would be assigned the same role twice, and the second assignment fails."""
        seen: dict[str, str] = {}
        for field in ("readers", "deployers", "admins"):
            for i, group in enumerate(getattr(self, field)):
                key = f"{NAMESPACE}:personas.{field}[{i}]"
                first = seen.setdefault(group.lower(), key)
                if first != key:
                    raise ValueError(
                        f"{key} {group!r} is also {first}: a group has one access level. "
                        "Fix: list each group under one persona, once"
                    )
        return self
