"""How a new revision takes over: canary steps, a shadow (mirrored) trial, or a blue-green switch."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel, cel
from .duration import Bounds, Duration, parse_duration

Promotion = Literal["auto", "manual"]
DistributionTest = Literal["ks", "chiSquared", "psi", "jensenShannon", "wasserstein"]


class Pause(ApiModel):
    """Wait at a step: for ``duration``, or, without one, until someone promotes (a manual gate)."""

    duration: (
        Annotated[
            Duration,
            Bounds("pause.duration", "0s", "720h", above=True, note="; leave it out for a manual gate"),
        ]
        | None
    ) = None

    @property
    def is_manual(self) -> bool:
        return self.duration is None

    def seconds(self) -> float | None:
        return None if self.duration is None else parse_duration(self.duration)


class CanaryStep(ApiModel):
    weight: int = Field(ge=1, le=100, description="Percent of live traffic the candidate takes at this step.")
    pause: Pause | None = Field(None, description="Absent: go on at once. {}: manual gate. {duration}: wait.")
    analysis: bool = Field(False, description="Run spec.analysis during this step; failing it rolls back.")


class Canary(ApiModel):
    """Ordered steps; weights strictly increase and the last is 100 (the candidate becomes stable)."""

    steps: list[CanaryStep] = Field(min_length=1, max_length=20)
    scale_down_delay: Annotated[Duration, Bounds("strategy.canary.scaleDownDelay", "0s", "24h")] = Field(
        "30s",
        description="How long the previous stable revision stays up after the candidate takes all traffic: "
        "gateways and clients that still route to it drain first.",
    )

    @cel(
        "self.steps.all(s, self.steps.exists_one(t, t.weight == s.weight)) && self.steps.map(s, "
        "s.weight).isSorted() && self.steps[size(self.steps) - 1].weight == 100",
        "strategy.canary.steps weights must strictly increase and end at 100 (e.g. 10, 50, 100)",
        field_path=".steps",
    )
    def _steps_increase_to_100(self) -> bool:
        weights = [s.weight for s in self.steps]
        return all(a < b for a, b in itertools.pairwise(weights)) and weights[-1] == 100


class PredictionComparison(ApiModel):
    """Compare the candidate's prediction distribution with stable's on the same (mirrored) requests."""

    test: DistributionTest = "jensenShannon"
    threshold: float = Field(0.1, gt=0, le=100)


class LatencyComparison(ApiModel):
    percentile: Literal[50, 90, 95, 99] = 99
    max_increase_percent: float = Field(20, ge=0, le=1000, description="Candidate over stable, in percent.")


class ErrorRateComparison(ApiModel):
    max_increase: float = Field(
        0.01, ge=0, le=1, description="Absolute error-rate points over stable (0.01 = 1%)."
    )


class ShadowComparison(ApiModel):
    prediction: PredictionComparison | None = None
    latency: LatencyComparison | None = None
    error_rate: ErrorRateComparison | None = None

    @cel(
        "has(self.prediction) || has(self.latency) || has(self.errorRate)",
        "strategy.shadow.comparison needs at least one of prediction, latency or errorRate",
    )
    def _something_compared(self) -> bool:
        return any(c is not None for c in (self.prediction, self.latency, self.error_rate))


class Shadow(ApiModel):
    """Mirror a share of live requests to the candidate, compare, then promote it to 100 % or discard it."""

    mirror_percent: int = Field(ge=1, le=100)
    duration: Annotated[
        Duration, Bounds("strategy.shadow.duration", "1m", "720h", note=" (1m gathers a comparison)")
    ]
    comparison: ShadowComparison
    promotion: Promotion = "manual"


class BlueGreen(ApiModel):
    """Run the candidate beside stable with no live traffic, check it, then switch all traffic at once."""

    preview_duration: Annotated[Duration, Bounds("strategy.blueGreen.previewDuration", "0s", "720h")] = Field(
        "5m", description="How long the preview runs before the switch decision."
    )
    analysis: bool = Field(True, description="Run spec.analysis against the preview before switching.")
    promotion: Promotion = "manual"
    scale_down_delay: Annotated[Duration, Bounds("strategy.blueGreen.scaleDownDelay", "0s", "24h")] = Field(
        "30s", description="How long the old colour stays up after the switch."
    )


class Strategy(ApiModel):
    """Set ``type`` and exactly the matching block."""

    type: Literal["canary", "shadow", "blueGreen"]
    canary: Canary | None = None
    shadow: Shadow | None = None
    blue_green: BlueGreen | None = None

    @cel(
        "(self.type == 'canary') == has(self.canary) && (self.type == 'shadow') == has(self.shadow) && "
        "(self.type == 'blueGreen') == has(self.blueGreen)",
        "strategy.type names the one block to set: strategy.canary, strategy.shadow or strategy.blueGreen",
    )
    def _block_matches_type(self) -> bool:
        present = {"canary": self.canary, "shadow": self.shadow, "blueGreen": self.blue_green}
        return all((value is not None) == (name == self.type) for name, value in present.items())

    def wants_analysis(self) -> bool:
        """Whether any phase of this strategy runs spec.analysis."""
        if self.canary is not None:
            return any(step.analysis for step in self.canary.steps)
        return self.blue_green is not None and self.blue_green.analysis
