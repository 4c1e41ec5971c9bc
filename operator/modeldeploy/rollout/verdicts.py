"""Analysis results in, counters and consequences out: fail, pause for a human, or count a success.

A result is used once: it must be for the revision under test and newer than the last one recorded, so
feeding the same result twice (a retried reconcile) changes nothing.
"""

from __future__ import annotations

from modeldeploy.api.status import (
    AnalysisResult,
    Counters,
    PauseReason,
    PauseState,
    RetrainingTrigger,
    Verdict,
)
from modeldeploy.rollout.actions import EventType, FireRetraining
from modeldeploy.rollout.progress import fail
from modeldeploy.rollout.work import Work

_INCONCLUSIVE = (Verdict.INCONCLUSIVE, Verdict.INSUFFICIENT_DATA)


def is_new(result: AnalysisResult, last: AnalysisResult | None) -> bool:
    if last is None or last.revision != result.revision:
        return True
    if result.time is not None and last.time is not None:
        return result.time > last.time
    return result != last


def count(counters: Counters, verdict: Verdict) -> Counters:
    """Consecutive counts: a success clears the bad ones, any bad one clears the successes."""
    c = counters
    if verdict is Verdict.SUCCESSFUL:
        return Counters(consecutive_successes=c.consecutive_successes + 1)
    if verdict is Verdict.FAILED:
        return c.model_copy(
            update={"consecutive_failures": c.consecutive_failures + 1, "consecutive_successes": 0}
        )
    if verdict is Verdict.ERROR:
        return c.model_copy(
            update={"consecutive_errors": c.consecutive_errors + 1, "consecutive_successes": 0}
        )
    return c.model_copy(
        update={"consecutive_inconclusives": c.consecutive_inconclusives + 1, "consecutive_successes": 0}
    )


def drift_key(result: AnalysisResult) -> str:
    """The confirmed drift's identity: the analysis's own id, else the revision and the drifted features."""
    if result.drift_id:
        return result.drift_id
    features = sorted(d.feature for d in result.drift if d.verdict is Verdict.FAILED)
    return f"{result.revision}:{','.join(features)}"


def maybe_retrain(w: Work, result: AnalysisResult) -> None:
    """Fire retraining once per confirmed drift, when the spec asks for it."""
    if not (result.drift_detected and w.inputs.plan.retrain_on_drift):
        return
    key = drift_key(result)
    if w.status.retraining is not None and w.status.retraining.drift_id == key:
        return
    features = tuple(sorted(d.feature for d in result.drift if d.verdict is Verdict.FAILED))
    w.retrain.append(FireRetraining(revision=result.revision, drift_id=key, features=features))
    trigger = RetrainingTrigger(
        drift_id=key, revision=result.revision, features=list(features), fired_at=w.inputs.now
    )
    w.update(retraining=trigger)
    w.note(
        EventType.NORMAL,
        "RetrainingTriggered",
        f"drift {key} confirmed on {result.revision}",
        result.revision,
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
    counters = count(s.counters, r.verdict)
    w.update(last_analysis=r, counters=counters)
    maybe_retrain(w, r)
    detail = r.message or _failing_metrics(r)
    if r.verdict is Verdict.FAILED and r.drift_detected:
        fail(w, "DriftDetected", f"data drift: {detail.removeprefix('drift: ')}")
    elif r.verdict is Verdict.FAILED and counters.consecutive_failures > plan.failure_limit:
        fail(w, "AnalysisFailed", f"{counters.consecutive_failures} failed analyses in a row: {detail}")
    elif r.verdict is Verdict.ERROR and counters.consecutive_errors > plan.error_limit:
        fail(w, "AnalysisError", f"{counters.consecutive_errors} analysis errors in a row: {detail}")
    elif (
        r.verdict in _INCONCLUSIVE
        and counters.consecutive_inconclusives > plan.inconclusive_limit
        and s.pause is None
    ):
        w.update(pause=PauseState(reason=PauseReason.GATE, since=w.inputs.now))
        msg = f"{counters.consecutive_inconclusives} inconclusive analyses in a row; promote or abort"
        w.note(EventType.WARNING, "AnalysisInconclusive", msg, candidate.name)
    return True


def judge_stable(w: Work) -> bool:
    """Steady-state monitoring: drift on the stable revision triggers retraining (there is nothing older to
    roll back to)."""
    s, r = w.status, w.inputs.analysis
    if r is None or s.stable is None or r.revision != s.stable.name or r.step_index is not None:
        return False
    if w.inputs.plan.monitor_interval is None or not is_new(r, s.last_analysis):
        return False
    w.update(last_analysis=r)
    maybe_retrain(w, r)
    return True


def _failing_metrics(r: AnalysisResult) -> str:
    bad = [m.name for m in r.metrics if m.verdict is Verdict.FAILED]
    bad += [f"drift:{d.feature}" for d in r.drift if d.verdict is Verdict.FAILED]
    return ", ".join(bad) or r.verdict.value
