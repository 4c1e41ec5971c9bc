"""The `workspace` section of the stack config, read by `workspace.MlWorkspace`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kdap_infra.config_sections import Section


class WorkspaceConfig(Section):
    friendly_name: str = Field("kdap ML platform", description="a display name for the workspace")
    customer_managed_key: bool = Field(
        False, description="true to encrypt the workspace with a key held in the platform Key Vault"
    )
    hbi: bool = Field(False, description="true for high-business-impact data (less telemetry to Microsoft)")
    approved_fqdns: list[Annotated[str, Field(pattern=r"^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$")]] = Field(
        [],
        description="host names (such as pypi.org or *.anaconda.org) prod jobs and image builds may reach",
    )
