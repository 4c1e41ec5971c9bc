"""One entry of the `endpoints` section: a model the platform serves, declared once.

Each entry becomes an online endpoint shell (tagged for the ModelDeployment `namespace/name` that deploys
into it), an API Management route and latency / error / CPU alerts; read by `endpoints.OnlineEndpoints`,
`apim.ScoringGateway`, `monitoring.Alerting` and the operator handoff (`handoff.py`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kdap_infra.config_sections import Email, Section

# prefix (<= 8) + "-" + name + "-" + suffix (<= 6) must fit Azure's 32 characters; config.py checks the sum.
MAX_ENDPOINT_NAME = 32


class EndpointConfig(Section):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{2,19}$",
        # The ModelDeployment's name; the stack adds prefix and suffix (endpoint names are unique per region).
        description="3-20 lowercase letters, digits or hyphens, starting with a letter (the ModelDeployment)",
    )
    namespace: str = Field(
        "ml-serving",
        pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="the Kubernetes namespace of the ModelDeployment that deploys into this endpoint",
    )
    kind: Literal["managed", "kubernetes"] = Field(
        "managed", description="managed, or kubernetes (on the AKS cluster attached to the workspace)"
    )
    instance_type: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="the VM SKU (managed) or instance type (kubernetes) its deployments run on, published in "
        "the handoff (default: the platform's, api/platform.py DEFAULT_INSTANCE_TYPE)",
    )
    latency_p99_ms: float | None = Field(
        None, gt=0, description="this endpoint's p99 latency threshold in ms (overrides alerts.latencyP99Ms)"
    )
    cache_ttl_seconds: int | None = Field(
        None,
        ge=1,
        le=86400,
        description="this model's fallback cache TTL in seconds (overrides apim.cacheTtlSeconds)",
    )
    quota_calls: int | None = Field(
        None,
        ge=1,
        description="calls per subscription per quota period for this model (overrides apim.quotaCalls)",
    )
    team: str | None = Field(
        None,
        min_length=1,
        description="the team that owns this model, written to its team tag (default: owner)",
    )
    monthly_budget: float | None = Field(
        None, gt=0, description="this endpoint's monthly budget (default: budget.perEndpointAmount)"
    )
    owner_emails: list[Email] = Field(
        [], description="who is told when this endpoint reaches 80 % and 100 % of its budget"
    )
