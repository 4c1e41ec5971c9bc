"""From the spec in Git to what the pure machine reasons about: the desired revision and the rollout plan."""

from __future__ import annotations

from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.rollout.plan import MetricLimits, RolloutPlan, Step, blue_green_steps, shadow_steps
from modeldeploy.rollout.revision import DesiredRevision

DEFAULT_PROGRESS_DEADLINE = 600.0
DEFAULT_SCALE_DOWN_DELAY = 30.0
DEFAULT_INCONCLUSIVE_LIMIT = 2


def desired_revision(name: str, spec: ModelDeploymentSpec) -> DesiredRevision:
    # Only what answers a request defines a revision; strategy, analysis, autoscaling and rollback edits
    # apply to the running rollout without cutting a new revision.
    ref = (spec.model.registry or "") if spec.model.tag_stages else ""
    return DesiredRevision.of(name, spec.serving_fingerprint(), spec.model.version, ref)


def _steps(spec: ModelDeploymentSpec) -> tuple[Step, ...]:
    s = spec.strategy
    if s is None:  # a batch model: the batch reconciler runs it, never this plan
        raise ValueError("spec.batch has no rollout steps")
    if s.type == "canary" and s.canary is not None:
        steps = []
        for step in s.canary.steps:
            if step.pause is None:
                duration: float | None = 0.0
            else:
                duration = step.pause.seconds()  # None: a manual gate
            steps.append(Step(step.weight, duration=duration, analysis=step.analysis))
        return tuple(steps)
    if s.type == "shadow" and s.shadow is not None:
        sh = s.shadow
        mirrored = shadow_steps(sh.mirror_percent, parse_duration(sh.duration))
        if sh.promotion == "manual":  # keep mirroring after the trial until someone promotes
            mirrored += (Step(0, mirror_percent=sh.mirror_percent, duration=None, analysis=True),)
        return mirrored
    if s.type == "blueGreen" and s.blue_green is not None:
        bg = s.blue_green
        preview = blue_green_steps(parse_duration(bg.preview_duration), analysis=bg.analysis)
        if bg.promotion == "manual":
            preview += (Step(0, duration=None),)
        return preview
    raise ValueError(
        f"strategy.type {s.type} has no matching strategy block"
    )  # the model already refuses this


WATCHED_READINESS_POLL = 60.0


def plan_of(spec: ModelDeploymentSpec) -> RolloutPlan:
    analysis = spec.analysis
    interval = parse_duration(analysis.interval) if analysis is not None else 60.0
    limits = tuple(
        MetricLimits(m.name, m.failure_limit, m.inconclusive_limit, m.on_inconclusive)
        for m in (analysis.metrics if analysis is not None else ())
    )
    drift_spec = analysis.drift if analysis is not None else None
    retrain = spec.rollback.retrain
    monitor = None
    if analysis is not None and analysis.drift is not None:
        drift_interval = parse_duration(analysis.drift.interval)
        interval = min(interval, drift_interval) if analysis.metrics else drift_interval
        monitor = drift_interval
    strategy = spec.strategy
    delayed = strategy.blue_green or strategy.canary if strategy is not None else None
    scale_down = parse_duration(delayed.scale_down_delay) if delayed is not None else DEFAULT_SCALE_DOWN_DELAY
    return RolloutPlan(
        steps=_steps(spec),
        analysis_interval=interval,
        failure_limit=spec.rollback.failure_limit,
        # Each metric has its own limits; the run-level one covers drift and shadow comparisons.
        inconclusive_limit=DEFAULT_INCONCLUSIVE_LIMIT,
        metric_limits=limits,
        drift_confirmations=drift_spec.confirmations if drift_spec is not None else 1,
        rollback_on_drift=spec.rollback.on_drift,
        rollback_on_metric_failure=spec.rollback.on_metric_failure,
        progress_deadline=DEFAULT_PROGRESS_DEADLINE,
        scale_down_delay=scale_down,
        retrain_on_drift=retrain is not None,
        validate=spec.validation is not None,
        tag_stages=spec.model.tag_stages,
        validation_error_limit=spec.validation.error_limit if spec.validation is not None else 0,
        retrain_cooldown=parse_duration(retrain.cooldown) if retrain is not None else 0.0,
        monitor_interval=monitor,
        # Kubernetes Deployments and Pods are watched: a change wakes the object at once.
        readiness_poll=WATCHED_READINESS_POLL if spec.target.kubernetes is not None else 10.0,
    )
