"""A metric judged against the stable revision on the same window, not only against fixed bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import ApiModel

CompareTest = Literal["auto", "proportion", "mannWhitney", "welch"]


class Compare(ApiModel):
    """Candidate against stable, per analysis, with an always-valid (sequential) confidence interval: looking
    every interval does not raise the chance of a false promotion above ``alpha``."""

    against: Literal["stable"] = Field(
        "stable", description="The revision compared with: the one serving before this rollout."
    )
    test: CompareTest = Field(
        "auto",
        description="auto: proportion for errorRate (two-proportion z), mannWhitney for latencies (on the "
        "histogram's buckets); welch compares latency means.",
    )
    hypothesis: Literal["nonInferiority", "superiority"] = Field(
        "nonInferiority",
        description="nonInferiority passes a candidate not worse than stable by more than margin; "
        "superiority one better than stable by more than margin.",
    )
    better: Literal["lower", "higher"] = Field("lower", description="Which direction is better.")
    margin: float = Field(
        0.0,
        ge=0,
        le=1_000_000,
        description="On the test's scale: a difference of rates (0.001 = 0.1 percentage point), of means "
        "(seconds), or for mannWhitney of P(candidate slower) - 0.5.",
    )
    alpha: float = Field(
        0.05, gt=0, le=0.2, description="The chance of a false pass (or a false rollback), over all looks."
    )
    min_samples: int = Field(
        1000,
        ge=30,
        le=100_000_000,
        description="Requests needed on each side before any decision; fewer give InsufficientData.",
    )
