"""The rollout plan: every strategy reduced to the same list of steps.

Canary is ``10 → 25 → 50`` then full; champion-challenger is one long ``10`` step; shadow is a ``0`` step that
mirrors traffic; blue-green is a ``0`` preview step. After the last step the candidate takes 100% and becomes
stable. One step engine therefore serves every strategy, and the strategy-specific knowledge lives only in
how the spec is turned into a plan (``from_spec``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OnInconclusive = Literal["pause", "fail", "ignore"]


@dataclass(frozen=True)
class Step:
    """One stage of a rollout.

    ``weight`` is the candidate's live percent; 100 holds it at full traffic while stable still runs (for an
    instant rollback) until the step ends. ``mirror_percent`` copies that share of requests to the candidate
    without serving its answers, so it needs ``weight == 0``. ``duration`` is seconds to hold the step;
    ``None`` makes the step a manual gate that waits for ``promote``. With ``analysis`` the step also needs a
    successful analysis of the candidate before it can end.
    """

    weight: int
    mirror_percent: int = 0
    duration: float | None = 0.0
    analysis: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.weight <= 100:
            raise ValueError(f"step weight must be in 0..100, got {self.weight}")
        if not 0 <= self.mirror_percent <= 100:
            raise ValueError(f"step mirror_percent must be in 0..100, got {self.mirror_percent}")
        if self.mirror_percent and self.weight:
            raise ValueError(
                f"a step cannot mirror to a candidate that takes live traffic "
                f"(weight {self.weight}, mirror {self.mirror_percent})"
            )
        if self.duration is not None and self.duration < 0:
            raise ValueError(f"step duration must not be negative, got {self.duration}")


@dataclass(frozen=True)
class MetricLimits:
    """One metric's own tolerance (``analysis.metrics[]``): it fails when its failed measurements in a step
    exceed ``failure_limit``; past ``inconclusive_limit`` inconclusive ones, ``on_inconclusive`` pauses the
    rollout for a human, fails it, or stops the metric from holding the step (ignore)."""

    name: str
    failure_limit: int = 0
    inconclusive_limit: int = 0
    on_inconclusive: OnInconclusive = "pause"

    def __post_init__(self) -> None:
        for name in ("failure_limit", "inconclusive_limit"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"metric {self.name}: {name} must not be negative, got {getattr(self, name)}"
                )


@dataclass(frozen=True)
class RolloutPlan:
    """How a candidate is rolled out and judged.

    Limits follow Argo Rollouts: a rollout fails when consecutive failures exceed ``failure_limit`` (0: the
    first failure fails) or errors exceed ``error_limit``; it pauses for a human when inconclusive results
    exceed ``inconclusive_limit``. A drift counts once ``drift_confirmations`` analyses in a row saw it;
    a confirmed drift fails the step at once. ``metric_limits`` holds each named metric's own limits (a
    metric not named there, e.g. a shadow comparison, fails at its first failure and its inconclusive
    results count toward ``inconclusive_limit``). With ``rollback_on_metric_failure`` /
    ``rollback_on_drift`` False the rollout pauses for a human instead of rolling back. Retraining fires at
    most once per ``retrain_cooldown`` seconds.
    """

    steps: tuple[Step, ...] = ()
    analysis_interval: float = 60.0
    failure_limit: int = 0
    inconclusive_limit: int = 2
    error_limit: int = 4
    successes_per_step: int = 1
    progress_deadline: float = 600.0
    scale_down_delay: float = 30.0
    retrain_on_drift: bool = False
    retrain_cooldown: float = 0.0
    drift_confirmations: int = 1
    rollback_on_drift: bool = True
    rollback_on_metric_failure: bool = True
    metric_limits: tuple[MetricLimits, ...] = ()
    monitor_interval: float | None = None
    # How often to look again at a candidate that is not ready yet. A backend whose readiness arrives by
    # watch (Kubernetes) needs it only as a safety net; one that must be asked (Azure ML) needs it often.
    readiness_poll: float = 10.0
    # Pre-traffic validation (``spec.validation``): a Ready candidate must pass it before its first step;
    # ``validation_error_limit`` attempts that could not reach it are tolerated, a wrong answer is not.
    validate: bool = False
    validation_error_limit: int = 2
    # Keep the registry's stage tags in step with the status (model.tagStages).
    tag_stages: bool = False

    def __post_init__(self) -> None:
        for name in ("failure_limit", "inconclusive_limit", "error_limit", "validation_error_limit"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.successes_per_step < 1:
            raise ValueError(f"successes_per_step must be at least 1, got {self.successes_per_step}")
        for name in ("analysis_interval", "progress_deadline", "readiness_poll"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.drift_confirmations < 1:
            raise ValueError(f"drift_confirmations must be at least 1, got {self.drift_confirmations}")
        if self.retrain_cooldown < 0:
            raise ValueError(f"retrain_cooldown must not be negative, got {self.retrain_cooldown}")
        if self.scale_down_delay < 0:
            raise ValueError(f"scale_down_delay must not be negative, got {self.scale_down_delay}")
        if self.monitor_interval is not None and self.monitor_interval <= 0:
            raise ValueError(f"monitor_interval must be positive, got {self.monitor_interval}")


def canary_steps(weights: tuple[int, ...], duration: float | None, analysis: bool = True) -> tuple[Step, ...]:
    """Canary through ``weights`` (e.g. 10, 25, 50), each step held ``duration`` seconds."""
    return tuple(Step(w, duration=duration, analysis=analysis) for w in weights)


def champion_challenger_steps(weight: int, duration: float | None) -> tuple[Step, ...]:
    """The challenger takes ``weight`` percent (e.g. 10) for ``duration`` while analysis compares it."""
    return (Step(weight, duration=duration, analysis=True),)


def shadow_steps(mirror_percent: int, duration: float | None) -> tuple[Step, ...]:
    """Mirror ``mirror_percent`` of requests to the candidate and compare; promote, or discard on failure."""
    return (Step(0, mirror_percent=mirror_percent, duration=duration, analysis=True),)


def blue_green_steps(preview: float | None, analysis: bool = True) -> tuple[Step, ...]:
    """Run the candidate beside stable without live traffic, analyse the preview, then switch all at once."""
    return (Step(0, duration=preview, analysis=analysis),)
