"""``decide``: one pure step of the rollout state machine.

(spec, status, observations, analysis result, now) → (next status, actions). No I/O and no clock: the same
inputs always give the same decision. Transitions run until none applies, so feeding a decision's status back
with the same observations is a fixed point (no new traffic change, no new event).

Crash safety rests on one rule for the caller: write ``status`` first, then run ``actions`` in order. Traffic
is a function of the status (stable, candidate, step), and a candidate that failed is no longer a candidate
but a ``failedRevisions`` entry, so once the failure is stored no later decision routes to it; if the
operator dies before ``SetTraffic`` ran, the next decision emits it again because the observed traffic still
differs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from modeldeploy.api.status import ModelDeploymentStatus, RetiredRevision
from modeldeploy.rollout.actions import (
    Action,
    DeleteRevision,
    EnsureRevision,
    FireRetraining,
    RequeueAfter,
    RunAnalysis,
    SetTraffic,
    ordered,
)
from modeldeploy.rollout.conditions import (
    conditions_for,
    derive_phase,
    describe,
    failed_record,
    set_condition,
)
from modeldeploy.rollout.inputs import Decision, Inputs
from modeldeploy.rollout.manual import handle_request
from modeldeploy.rollout.progress import (
    advance,
    check_readiness,
    promote,
    start_candidate,
    start_step,
    supersede,
)
from modeldeploy.rollout.readiness import summarise
from modeldeploy.rollout.serving import Readiness, TrafficSplit
from modeldeploy.rollout.stages import stages_due
from modeldeploy.rollout.validation import gate, validation_due
from modeldeploy.rollout.verdicts import judge_candidate, judge_stable
from modeldeploy.rollout.work import Work

MAX_TRANSITIONS = 64


def decide(inputs: Inputs) -> Decision:
    w = Work(inputs=inputs, status=inputs.status)
    w.update()  # traffic is derived; repair whatever a partial status held
    for _ in range(MAX_TRANSITIONS):
        if not _transition(w):
            break
    else:  # a bug, not an input problem: the transitions must converge
        raise RuntimeError(f"rollout did not settle after {MAX_TRANSITIONS} transitions: {w.status!r}")
    status = _report(w)
    actions: list[Action] = [*_world_actions(inputs, status), *w.retrain, *w.events]
    requeue = _requeue_after(inputs, status)
    if requeue is not None:
        actions.append(RequeueAfter(requeue))
    return Decision(status=status, actions=ordered(actions))


def _transition(w: Work) -> bool:
    return handle_request(w) or _forget_deleted(w) or (_candidate(w) if w.status.candidate else _idle(w))


def _forget_deleted(w: Work) -> bool:
    gone = [r for r in w.status.retired_revisions if w.inputs.readiness(r.name) is Readiness.MISSING]
    if not gone:
        return False
    w.update(retired_revisions=[r for r in w.status.retired_revisions if r not in gone])
    return True


def _candidate(w: Work) -> bool:
    s = w.status
    assert s.candidate is not None
    if s.candidate.spec_hash != w.inputs.desired.spec_hash:
        supersede(w)
        return True
    if s.current_step_index is not None and judge_candidate(w):
        return True
    readiness = check_readiness(w)
    if readiness != "ready":
        return readiness == "changed"
    if s.current_step_index is None:
        if s.pause is not None:  # paused by hand before it became Ready: hold until resumed
            return False
        checked = gate(w)  # no traffic, live or mirrored, before the revision answered correctly
        if checked != "passed":
            return checked == "changed"
        if s.stable is None:
            promote(w, "FirstRevisionPromoted")
        else:
            start_step(w, 0)
        return True
    return advance(w)


def _idle(w: Work) -> bool:
    s, desired = w.status, w.inputs.desired
    failed = s.is_failed(desired.spec_hash)
    if s.stable is not None and (failed or s.stable.spec_hash == desired.spec_hash):
        return judge_stable(w)  # stable serves (after a rollback too): keep watching it for drift
    if failed:
        return False
    start_candidate(w)
    return True


def _report(w: Work) -> ModelDeploymentStatus:
    i = w.inputs
    s = w.status
    stable_ready = i.readiness(s.stable.name) if s.stable else None
    conditions = s.conditions
    for c in conditions_for(s, i.desired, stable_ready, i.generation):
        conditions = set_condition(conditions, c, i.now)
    reported = s.model_copy(
        update={
            "phase": derive_phase(s, i.desired),
            "message": describe(s, i.desired, i.plan),
            "conditions": conditions,
            "observed_generation": i.generation,
        }
    )
    failed = failed_record(s, i.desired.spec_hash)
    why = failed.reason if failed else None
    return summarise(reported, i.generation, i.now, why, spec_valid=True).bounded()


def _world_actions(i: Inputs, s: ModelDeploymentStatus) -> list[Action]:
    actions: list[Action] = []
    split = TrafficSplit(
        weights=dict(s.traffic.weights), mirror=s.traffic.mirror, mirror_percent=s.traffic.mirror_percent
    )
    if split.weights and _normalised(i.observed_traffic) != split:
        actions.append(SetTraffic(split))
    d = i.desired
    serving = [r for r in (s.stable, s.candidate) if r is not None and r.spec_hash == d.spec_hash]
    respec = i.status.observed_generation != i.generation
    for r in serving:
        if respec or i.readiness(r.name) in (None, Readiness.MISSING):
            actions.append(EnsureRevision(name=d.name, short_name=d.short_name, spec_hash=d.spec_hash))
    for retired in s.retired_revisions:
        if _due(retired, i.now) and i.readiness(retired.name) is not Readiness.MISSING:
            actions.append(DeleteRevision(retired.name, not_before=retired.delete_after or i.now))
    validate = validation_due(i, s)
    if validate is not None:
        actions.append(validate)
    analysis = _analysis_due(i, s)
    if analysis is not None and analysis[0] <= i.now:
        actions.append(analysis[1])
    sync = stages_due(i, s)
    if sync is not None:
        actions.append(sync)
    trigger = s.retraining
    if trigger is not None and trigger.due(i.now):
        fire = FireRetraining(trigger.revision, trigger.drift_id, tuple(trigger.features))
        actions.append(fire)
    return actions


def _normalised(split: TrafficSplit | None) -> TrafficSplit | None:
    if split is None:
        return None
    weights = {k: v for k, v in split.weights.items() if v > 0}
    return TrafficSplit(
        weights=weights, mirror=split.mirror, mirror_percent=split.mirror_percent if split.mirror else 0
    )


def _due(retired: RetiredRevision, now: datetime) -> bool:
    return retired.delete_after is None or retired.delete_after <= now


def _analysis_due(i: Inputs, s: ModelDeploymentStatus) -> tuple[datetime, RunAnalysis] | None:
    """When the next analysis should run, and the request for it."""
    last = s.last_analysis
    if s.candidate is not None and s.stable is not None and s.current_step_index is not None:
        steps = i.plan.steps
        idx = s.current_step_index
        if (
            idx >= len(steps)
            or not steps[idx].analysis
            or i.readiness(s.candidate.name) is not Readiness.READY
        ):
            return None
        start = s.step_started_at or i.now
        since = start
        if last is not None and last.revision == s.candidate.name and last.step_index == idx and last.time:
            since = max(start, last.time)
        run = RunAnalysis(s.candidate.name, s.stable.name, idx, window_start=start)
        return since + timedelta(seconds=i.plan.analysis_interval), run
    if s.candidate is None and s.stable is not None and i.plan.monitor_interval is not None:
        if s.stable.spec_hash != i.desired.spec_hash and not s.is_failed(i.desired.spec_hash):
            return None  # a candidate is about to be cut
        since = s.stable.ready_at or s.stable.created_at or i.now
        if last is not None and last.revision == s.stable.name and last.step_index is None and last.time:
            since = max(since, last.time)
        run = RunAnalysis(s.stable.name, None, None, window_start=since)
        return since + timedelta(seconds=_monitor_interval(i.plan.monitor_interval, s)), run
    return None


MAX_ERROR_BACKOFF = 3600.0


def _monitor_interval(interval: float, s: ModelDeploymentStatus) -> float:
    """Monitoring a stable revision has no error limit to end it: an analysis that keeps failing to run is
    retried at a doubling interval (up to an hour) instead of every interval forever. A candidate's errors
    need no backoff: errorLimit fails the rollout after a few."""
    errors = s.counters.consecutive_errors
    if errors == 0:
        return interval
    return min(interval * 2.0 ** min(errors, 20), max(interval, MAX_ERROR_BACKOFF))


def _requeue_after(i: Inputs, s: ModelDeploymentStatus) -> float | None:
    """Seconds until the next thing that time alone can change."""
    now, plan = i.now, i.plan
    times: list[datetime] = [
        r.delete_after for r in s.retired_revisions if r.delete_after and r.delete_after > now
    ]
    c = s.candidate
    if c is not None and c.ready_at is None:
        times.append(now + timedelta(seconds=plan.readiness_poll))
    tried = c.validation if c is not None and s.current_step_index is None else None
    if plan.validate and tried is not None and tried.time is not None:
        times.append(tried.time + timedelta(seconds=plan.readiness_poll))  # retry after an Error
    idx = s.current_step_index
    if c is not None and idx is not None and idx < len(plan.steps) and s.pause is None:
        duration = plan.steps[idx].duration
        if duration is not None and s.step_started_at is not None:
            times.append(s.step_started_at + timedelta(seconds=duration))
    analysis = _analysis_due(i, s)
    if analysis is not None:
        times.append(analysis[0])
    if s.retraining is not None and not s.retraining.delivered and s.retraining.retry_at is not None:
        times.append(s.retraining.retry_at)
    future = [t for t in times if t > now]
    if not future:
        return plan.readiness_poll if c is not None else None
    return max(1.0, min((t - now).total_seconds() for t in future))
