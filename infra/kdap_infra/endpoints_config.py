"""One entry of the `endpoints` section, read by `endpoints.OnlineEndpoints` and `monitoring.Alerting`."""

from __future__ import annotations

from pydantic import Field

from kdap_infra.config_sections import Section


class EndpointConfig(Section):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{2,15}$",
        # Names are unique per region, so the stack adds prefix and suffix; Azure allows 32 characters.
        description="3-16 lowercase letters, digits or hyphens, starting with a letter",
    )
    latency_p99_ms: float | None = Field(
        None, gt=0, description="this endpoint's p99 latency threshold in ms (overrides alerts.latencyP99Ms)"
    )
