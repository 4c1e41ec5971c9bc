"""Analysis results in, counters and consequences out: fail, pause for a human, or count a success.

A result is used once: it must be for the revision under test and newer than the last one recorded, so
feeding the same result twice (a retried reconcile) changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from modeldeploy.api.notifications import Trigger
from modeldeploy.api.status import (
    AnalysisResult,
    Counters,
    PauseReason,
    PauseState,
    RetrainingTrigger,
    Verdict,
)
from modeldeploy.rollout.actions import EventType
from modeldeploy.rollout.limits import Outcome, judge
from modeldeploy.rollout.progress import fail
from modeldeploy.rollout.work import Work, drift_notices


def is_new(result: AnalysisResult, last: AnalysisResult | None) -> bool:
    if last is None or last.revision != result.revision:
        return True
    if result.time is not None and last.time is not None:
        return result.time > last.time
    return result != last


def count(counters: Counters, outcome: Outcome) -> Counters:
    """Consecutive counts: a pass clears the bad ones, anything else clears the passes. The per-metric
    tallies and the drift streak are kept as ``judge`` left them."""
    c = counters
    if outcome is Outcome.PASSED:
        return c.model_copy(
            update={
                "consecutive_successes": c.consecutive_successes + 1,
                "consecutive_failures": 0,
                "consecutive_inconclusives": 0,
                "consecutive_errors": 0,
            }
        )
    bump = {
        Outcome.FAILED: "consecutive_failures",
        Outcome.ERROR: "consecutive_errors",
        Outcome.PAUSE: "consecutive_inconclusives",
        Outcome.INCONCLUSIVE: "consecutive_inconclusives",
    }.get(outcome)
    update: dict[str, int] = {"consecutive_successes": 0}
    if bump is not None:
        update[bump] = getattr(c, bump) + 1
    return c.model_copy(update=update)


def drift_key(result: AnalysisResult) -> str:
    """The confirmed drift's identity: the analysis's own id, else the revision and the drifted features."""
    if result.drift_id:
        return result.drift_id
    features = sorted(d.feature for d in result.drift if d.verdict is Verdict.FAILED)
    return f"{result.revision}:{','.join(features)}"


def maybe_retrain(w: Work, result: AnalysisResult, confirmed: bool) -> None:
    """Fire retraining once per confirmed drift, when the spec asks for it, and at most once per
    ``rollback.retrain.cooldown`` however often drift recurs."""
    if not (confirmed and w.inputs.plan.retrain_on_drift):
        return
    key = drift_key(result)
    last = w.status.retraining
    if last is not None and last.drift_id == key:
        return
    cooldown = timedelta(seconds=w.inputs.plan.retrain_cooldown)
    if last is not None and last.fired_at is not None and w.inputs.now < last.fired_at + cooldown:
        return  # fired at the next analysis after the cooldown if the drift is still there
    features = sorted(d.feature for d in result.drift if d.verdict is Verdict.FAILED)
    # The call itself is an action of every decision while the trigger is undelivered and due (see
    # machine._world_actions): a crash before it, or a failed call, is retried from the status.
    trigger = RetrainingTrigger(
        drift_id=key, revision=result.revision, features=features, fired_at=w.inputs.now, delivered=False
    )
    w.update(retraining=trigger)
    # On the stable revision no DriftDetected Event is emitted (nothing to roll back), so this one says it.
    on_stable = w.status.stable is not None and result.revision == w.status.stable.name
    w.note(
        EventType.NORMAL,
        "RetrainingTriggered",
        f"drift {key} confirmed on {result.revision}",
        result.revision,
        (Trigger.RETRAINING_STARTED, Trigger.DRIFT_CONFIRMED) if on_stable else (Trigger.RETRAINING_STARTED,),
    )


def judge_candidate(w: Work) -> bool:
    """Use a new analysis result of the candidate; True when it changed the status."""
    s, r, plan = w.status, w.inputs.analysis, w.inputs.plan
    candidate = s.candidate
    if r is None or candidate is None or r.revision != candidate.name or not is_new(r, s.last_analysis):
        return False
    # A failure of an earlier step still counts: failure evidence is never stale.
    if r.step_index != s.current_step_index and r.verdict is not Verdict.FAILED:
        return False
    j = judge(r, s.counters, plan)
    counters = count(j.counters, j.outcome)
    w.update(last_analysis=r, counters=counters)
    maybe_retrain(w, r, j.drift_confirmed)
    if j.outcome is Outcome.ERROR and counters.consecutive_errors == 1:
        _note_error(w, r)
    detail = "; ".join(j.reasons) or r.message or _failing_metrics(r)
    if j.outcome is Outcome.FAILED and j.drift_confirmed:
        drift = (r.message or _failing_metrics(r)).removeprefix("drift: ")
        _fail_or_hold(w, plan.rollback_on_drift, "rollback.onDrift", "DriftDetected", f"data drift: {drift}")
    elif j.outcome is Outcome.FAILED and counters.consecutive_failures > plan.failure_limit:
        msg = f"{counters.consecutive_failures} failed analyses in a row: {detail}"
        _fail_or_hold(w, plan.rollback_on_metric_failure, "rollback.onMetricFailure", "AnalysisFailed", msg)
    elif j.outcome is Outcome.ERROR and counters.consecutive_errors > plan.error_limit:
        fail(
            w,
            "AnalysisError",
            f"{counters.consecutive_errors} analysis errors in a row: {r.message or detail}",
        )
    elif s.pause is None and (
        j.outcome is Outcome.PAUSE
        or (
            j.outcome is Outcome.INCONCLUSIVE and counters.consecutive_inconclusives > plan.inconclusive_limit
        )
    ):
        w.update(pause=PauseState(reason=PauseReason.GATE, since=w.inputs.now))
        if j.outcome is Outcome.PAUSE:
            msg = f"{detail}; promote or abort"
        else:
            msg = f"{counters.consecutive_inconclusives} inconclusive analyses in a row; promote or abort"
        w.note(EventType.WARNING, "AnalysisInconclusive", msg, candidate.name)
    return True


def _fail_or_hold(w: Work, roll_back: bool, field: str, reason: str, message: str) -> None:
    """Roll back, or (the field set to false) hold the candidate's traffic and wait for promote or abort."""
    if roll_back:
        fail(w, reason, message)
        return
    if w.status.pause is not None:
        return  # already waiting for a human; the status shows the newest analysis
    candidate = w.status.candidate
    assert candidate is not None
    w.update(pause=PauseState(reason=PauseReason.GATE, since=w.inputs.now))
    held = (
        f"revision {candidate.name}: {message}; {field} is false, so it keeps its traffic: promote or abort"
    )
    w.note(EventType.WARNING, reason, held, candidate.name, (Trigger.PAUSED, *drift_notices(reason)))


def judge_stable(w: Work) -> bool:
    """Steady-state monitoring: drift on the stable revision triggers retraining (there is nothing older to
    roll back to)."""
    s, r = w.status, w.inputs.analysis
    if r is None or s.stable is None or r.revision != s.stable.name or r.step_index is not None:
        return False
    if w.inputs.plan.monitor_interval is None or not is_new(r, s.last_analysis):
        return False
    j = judge(r, s.counters, w.inputs.plan)
    counters = count(j.counters, j.outcome)
    w.update(last_analysis=r, counters=counters)
    maybe_retrain(w, r, j.drift_confirmed)
    if j.outcome is Outcome.ERROR and counters.consecutive_errors == 1:
        _note_error(w, r)
    return True


def _note_error(w: Work, r: AnalysisResult) -> None:
    """The first analysis error in a row is an Event (the AnalysisHealthy condition holds it after)."""
    msg = f"analysis of {r.revision} could not run: {r.message or 'no detail'}"
    w.note(EventType.WARNING, "AnalysisError", msg, r.revision)


def _failing_metrics(r: AnalysisResult) -> str:
    bad = [m.name for m in r.metrics if m.verdict is Verdict.FAILED]
    bad += [f"drift:{d.feature}" for d in r.drift if d.verdict is Verdict.FAILED]
    return ", ".join(bad) or r.verdict.value
