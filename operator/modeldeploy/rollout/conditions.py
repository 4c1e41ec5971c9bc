"""Phase, message and conditions, all derived from the rest of the status so they can never disagree."""

from __future__ import annotations

from datetime import datetime

from modeldeploy.api.status import (
    Condition,
    ConditionStatus,
    FailedRevision,
    ModelDeploymentStatus,
    PauseReason,
    Phase,
    RetrainingTrigger,
    Verdict,
)
from modeldeploy.rollout.plan import RolloutPlan
from modeldeploy.rollout.revision import DesiredRevision
from modeldeploy.rollout.serving import Readiness

ABORTED = "Aborted"


def failed_record(status: ModelDeploymentStatus, spec_hash: str) -> FailedRevision | None:
    return next((f for f in status.failed_revisions if f.spec_hash == spec_hash), None)


def derive_phase(status: ModelDeploymentStatus, desired: DesiredRevision) -> Phase:
    if status.candidate is not None:
        if status.pause is not None:
            return Phase.PAUSED
        return Phase.PENDING if status.stable is None else Phase.PROGRESSING
    failed = failed_record(status, desired.spec_hash)
    if status.stable is None:
        return Phase.FAILED if failed is not None else Phase.PENDING
    if status.stable.spec_hash == desired.spec_hash:
        return Phase.PROMOTED
    if failed is not None:
        return Phase.DEGRADED if failed.reason == ABORTED else Phase.ROLLED_BACK
    return Phase.PROGRESSING


def describe(status: ModelDeploymentStatus, desired: DesiredRevision, plan: RolloutPlan) -> str:
    """One plain sentence for `kubectl get`: what serves, and what (if anything) a human must do."""
    stable = status.stable.name if status.stable else None
    candidate = status.candidate.name if status.candidate else None
    failed = failed_record(status, desired.spec_hash)
    phase = derive_phase(status, desired)
    if phase is Phase.PROMOTED:
        return f"revision {stable} serves 100% of traffic"
    if phase in (Phase.ROLLED_BACK, Phase.DEGRADED) and failed is not None:
        what = "was aborted" if failed.reason == ABORTED else f"failed ({failed.reason}: {failed.message})"
        return (
            f"Git holds revision {failed.name} which {what}; stable revision {stable} serves 100% of "
            "traffic. Change the spec or request a retry."
        )
    if phase is Phase.FAILED and failed is not None:
        return (
            f"revision {failed.name} failed ({failed.reason}: {failed.message}) and no earlier revision "
            "can serve. Change the spec or request a retry."
        )
    if candidate is None:
        return f"starting revision {desired.name}"
    i = status.current_step_index
    if i is None:
        return f"waiting for revision {candidate} to become Ready"
    where = f"step {i + 1}/{len(plan.steps)}"
    if status.pause is not None:
        if status.pause.reason is PauseReason.MANUAL:
            return f"paused at {where} by request; resume to continue"
        return f"waiting at {where} for promote (or abort) of revision {candidate}"
    weights = status.traffic.weights
    text = f"{where}: revision {candidate} takes {weights.get(candidate, 0)}% of live traffic"
    if status.traffic.mirror:
        text += f" and a {status.traffic.mirror_percent}% mirror"
    return text


def set_condition(conditions: list[Condition], new: Condition, now: datetime) -> list[Condition]:
    """Replace the condition of ``new.type``; keep its transition time unless its status changed."""
    old = next((c for c in conditions if c.type == new.type), None)
    since = old.last_transition_time if old is not None and old.status == new.status else now
    updated = new.model_copy(update={"last_transition_time": since})
    return [updated if c.type == new.type else c for c in conditions] if old else [*conditions, updated]


def conditions_for(
    status: ModelDeploymentStatus,
    desired: DesiredRevision,
    stable_readiness: Readiness | None,
    generation: int,
) -> list[Condition]:
    """Available, Progressing, Paused, Healthy and DriftDetected, as Kubernetes tools expect them."""
    phase = derive_phase(status, desired)
    t, f = ConditionStatus.TRUE, ConditionStatus.FALSE

    def cond(type_: str, ok: bool, reason: str, message: str = "") -> Condition:
        return Condition(
            type=type_, status=t if ok else f, reason=reason, message=message, observed_generation=generation
        )

    available = status.stable is not None and stable_readiness is Readiness.READY
    last = status.last_analysis
    drift = last is not None and last.drift_detected
    out = [
        cond("Available", available, "StableReady" if available else "NoReadyStable"),
        cond("Progressing", status.candidate is not None, phase.value),
        cond("Paused", status.pause is not None, status.pause.reason.value if status.pause else "NotPaused"),
        cond("Healthy", phase is Phase.PROMOTED, phase.value),
        cond("DriftDetected", drift, "Drift" if drift else "NoDrift"),
    ]
    retraining = retraining_condition(status.retraining, generation)
    if retraining is not None:
        out.append(retraining)
    if last is not None:
        # An analysis that could not run (a bad answer, a cap hit, an exception) says so here, with why.
        broken = last.verdict is Verdict.ERROR
        out.append(
            cond(
                "AnalysisHealthy",
                not broken,
                "AnalysisError" if broken else "Measured",
                last.message if broken else "",
            )
        )
    return out


def retraining_condition(r: RetrainingTrigger | None, generation: int) -> Condition | None:
    """RetrainingDelivered: whether the last confirmed drift's retraining call went through (the reconciler
    records each attempt; it also sets this at once, so the failure shows before the next decision)."""
    if r is None:
        return None
    if r.delivered:
        ok, reason, message = True, "Delivered", ""
    elif r.attempts:
        why = f"{r.attempts} failed attempt(s) for drift {r.drift_id}: {r.last_error}"
        ok, reason, message = (
            False,
            "RetrainingFailed",
            ("gave up after " if r.retry_at is None else "") + why,
        )
    else:
        ok, reason, message = False, "Pending", ""
    status = ConditionStatus.TRUE if ok else ConditionStatus.FALSE
    return Condition(
        type="RetrainingDelivered",
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
    )
