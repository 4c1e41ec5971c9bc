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
    cache_ttl_seconds: int = Field(
        300, ge=1, le=86400, description="how long a prediction is kept for fallback, 1-86400 seconds"
    )
    quota_calls: int = Field(
        100_000, ge=1, description="calls per model product subscription per quota period"
    )
    quota_period_seconds: int = Field(
        86400, ge=300, description="the quota window in seconds (at least 300; 86400 is a day)"
    )
    breaker_failures: int = Field(
        5, ge=1, le=1000, description="5xx/429 answers within breakerIntervalSeconds that open the circuit"
    )
    breaker_interval_seconds: int = Field(
        60, ge=10, le=3600, description="the window the circuit breaker counts failures in, 10-3600 seconds"
    )
    breaker_trip_seconds: int = Field(
        30, ge=5, le=3600, description="how long an open circuit stays open (unless Retry-After says longer)"
    )
