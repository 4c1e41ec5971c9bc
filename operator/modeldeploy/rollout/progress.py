"""The candidate's life: created, Ready, stepped through the plan, then promoted, failed or superseded."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from modeldeploy.api.notifications import Trigger
from modeldeploy.api.status import Counters, PauseReason, PauseState, RevisionRecord
from modeldeploy.rollout.actions import EventType
from modeldeploy.rollout.conditions import ABORTED
from modeldeploy.rollout.serving import Readiness
from modeldeploy.rollout.work import Work, drift_notices, end_candidate, mark_failed, retire


def start_candidate(w: Work) -> None:
    d, now = w.inputs.desired, w.inputs.now
    record = RevisionRecord(
        name=d.name,
        spec_hash=d.spec_hash,
        model_version=d.model_version,
        model_ref=d.model_ref or None,
        created_at=now,
    )
    kept = [r for r in w.status.retired_revisions if r.name != d.name]  # reuse a revision still running
    w.update(candidate=record, retired_revisions=kept, counters=Counters(), current_step_index=None)
    w.note(EventType.NORMAL, "RolloutStarted", f"creating revision {d.name}", d.name)


def promote(w: Work, reason: str) -> None:
    """The candidate takes all traffic and becomes stable; the old stable is kept for a grace period."""
    old = w.status.stable
    candidate = end_candidate(w).model_copy(update={"promoted_at": w.inputs.now})
    w.update(stable=candidate)
    if old is not None and old.name != candidate.name:
        retire(w, old, w.inputs.plan.scale_down_delay)
    replaced = f", replacing {old.name}" if old is not None else ""
    message = f"revision {candidate.name} takes 100% of traffic{replaced}"
    w.note(EventType.NORMAL, reason, message, candidate.name, (Trigger.PROMOTED,))


def fail(w: Work, reason: str, message: str) -> None:
    """Traffic back to stable (by dropping the candidate), mark its spec failed, delete it."""
    candidate = end_candidate(w)
    mark_failed(w, candidate, reason, message)
    retire(w, candidate, 0)
    back = f"; traffic back to {w.status.stable.name}" if w.status.stable else ""
    kind = EventType.NORMAL if reason == ABORTED else EventType.WARNING
    notices = (Trigger.ROLLED_BACK, *drift_notices(reason))
    w.note(kind, reason, f"revision {candidate.name}: {message}{back}", candidate.name, notices)


def supersede(w: Work) -> None:
    """Git moved on mid-rollout: the old candidate loses its traffic and goes (it did not fail)."""
    candidate = end_candidate(w)
    retire(w, candidate, 0)
    msg = f"revision {candidate.name} superseded by {w.inputs.desired.name} before it finished"
    w.note(EventType.NORMAL, "Superseded", msg, candidate.name)


def start_step(w: Work, index: int) -> None:
    steps = w.inputs.plan.steps
    if index >= len(steps):
        promote(w, "Promoted")
        return
    step = steps[index]
    gate = PauseState(reason=PauseReason.GATE, since=w.inputs.now) if step.duration is None else None
    w.update(current_step_index=index, step_started_at=w.inputs.now, counters=Counters(), pause=gate)
    candidate = w.status.candidate
    assert candidate is not None
    what = f"mirror {step.mirror_percent}%" if step.mirror_percent else f"{step.weight}% live"
    hold = "until promoted" if step.duration is None else f"for {step.duration:g}s"
    msg = f"step {index + 1}/{len(steps)}: revision {candidate.name} takes {what} {hold}"
    notices = (Trigger.STEP_ADVANCED, Trigger.PAUSED) if gate else (Trigger.STEP_ADVANCED,)
    w.note(EventType.NORMAL, "StepStarted", msg, candidate.name, notices)


def check_readiness(w: Work) -> Literal["ready", "changed", "wait"]:
    """Whether the candidate may take part; "changed" when this call failed it or recorded it Ready."""
    candidate = w.status.candidate
    assert candidate is not None
    state = w.inputs.observed.get(candidate.name)
    now = w.inputs.now
    if state is not None and state.readiness is Readiness.FAILED:
        fail(w, "RevisionFailed", f"revision will not become Ready: {state.reason}: {state.message}".strip())
        return "changed"
    if state is not None and state.readiness is Readiness.READY:
        if candidate.ready_at is None:
            w.update(candidate=candidate.model_copy(update={"ready_at": now}))
            w.note(EventType.NORMAL, "RevisionReady", f"revision {candidate.name} is Ready", candidate.name)
            return "changed"
        return "ready"
    created = candidate.created_at or now
    deadline = created + timedelta(seconds=w.inputs.plan.progress_deadline)
    if candidate.ready_at is None and now >= deadline:
        seen = f" (last seen: {state.reason} {state.message})".rstrip() if state else ""
        fail(
            w,
            "ProgressDeadlineExceeded",
            f"not Ready {w.inputs.plan.progress_deadline:g}s after creation{seen}",
        )
        return "changed"
    return "wait"


def advance(w: Work) -> bool:
    """End the current step when its time is up and its analysis passed; the last step ends in promotion."""
    s, plan, now = w.status, w.inputs.plan, w.inputs.now
    i = s.current_step_index
    assert i is not None
    if i >= len(plan.steps):
        promote(w, "Promoted")
        return True
    if s.pause is not None:
        return False
    step = plan.steps[i]
    if step.duration is None:  # the plan turned this step into a gate after it started
        w.update(pause=PauseState(reason=PauseReason.GATE, since=now))
        return True
    if s.step_started_at is None:  # partial status: restart the clock rather than skip the hold
        w.update(step_started_at=now)
        return True
    if now < s.step_started_at + timedelta(seconds=step.duration):
        return False
    if step.analysis and s.counters.consecutive_successes < plan.successes_per_step:
        return False
    start_step(w, i + 1)
    return True
