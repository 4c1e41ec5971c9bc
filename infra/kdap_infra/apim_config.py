"""The `apim` section of the stack config, read by `apim.ScoringGateway`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kdap_infra.config_sections import Email, Section


class ApimConfig(Section):
    publisher_email: Email = Field(description="the API publisher's e-mail address")
    publisher_name: str = Field(min_length=1, description="the API publisher's organisation name")
    sku: Literal["Developer", "Basic", "Standard", "Premium", "BasicV2", "StandardV2"] = Field(
        "Developer", description="one of Developer, Basic, Standard, Premium, BasicV2, StandardV2"
    )
    capacity: int = Field(1, ge=1, le=10, description="the number of units, 1 to 10")
    audience: str = Field(
        min_length=1,
        description="the Entra ID application (api://...) that callers' tokens must be issued for",
    )
    rate_limit_calls: int = Field(120, ge=1, description="calls allowed per subscription key per period")
    rate_limit_period_seconds: int = Field(
        60, ge=1, le=300, description="the rate-limit window, 1-300 seconds"
    )
