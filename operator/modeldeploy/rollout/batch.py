"""The batch rollout machine: (inputs) -> (next status, actions), pure like ``machine.decide``.

A revision becomes the default (``status.stable``) only after its run on ``batch.rollout.input`` compared
well with the default revision's run on the same input: the candidate's run error rate, the row counts, and
a drift test on the prediction column (the drift engine's, run by the reconciler through ``CompareRuns``).
A revision that fails is recorded in ``failedRevisions`` and never run again until the spec changes; the
default stays, and so do the schedules on it. The first revision has nothing to compare with and becomes
the default once its template exists.
"""

from __future__ import annotations

from modeldeploy.api.batch_status import BatchComparison, RunPhase
from modeldeploy.api.notifications import Trigger
from modeldeploy.api.status import (
    FAILED_REVISIONS_LIMIT,
    FailedRevision,
    Phase,
    RevisionRecord,
    Verdict,
    truncate,
)
from modeldeploy.rollout.actions import EventType, RequeueAfter
from modeldeploy.rollout.batch_runs import (
    BatchWork,
    handle_arrivals,
    handle_request,
    output_of,
    record_jobs,
    refuse_online_request,
    restart_missing,
)
from modeldeploy.rollout.batch_types import (
    COMPARE_ATTEMPTS,
    COMPARE_RETRY,
    VALIDATION,
    ApplySchedules,
    BatchDecision,
    BatchInputs,
    CompareRuns,
    DeleteBatchRevision,
    EnsureBatchRevision,
    StartRun,
    ordered,
    run_name,
)


def validation_runs(owner: str, candidate_hash: str, stable_hash: str) -> tuple[str, str]:
    """(candidate's run, default's run) on the validation input: named by both revisions, so a restart
    finds the same Jobs, and neither a new candidate nor a new default reuses an old comparison."""
    tag = f"v{candidate_hash[:8]}-{stable_hash[:4]}"
    return run_name(owner, f"{tag}-c"), run_name(owner, f"{tag}-s")


def decide_batch(inputs: BatchInputs) -> BatchDecision:
    w = BatchWork(inputs, inputs.status)
    record_jobs(w)
    _revisions(w)
    handle_request(w)
    refuse_online_request(w)
    handle_arrivals(w)
    restart_missing(w)
    _schedules(w)
    _phase(w)
    _requeue(w)
    return BatchDecision(
        w.status.model_copy(update={"observed_generation": inputs.generation}), ordered(w.actions)
    )


def _revisions(w: BatchWork) -> None:
    desired, st = w.inputs.desired, w.status
    record = RevisionRecord(
        name=desired.name, spec_hash=desired.spec_hash, model_version=desired.model_version
    )
    if st.stable is None:
        if desired.name not in w.inputs.revisions:
            w.actions.append(EnsureBatchRevision(desired.name))
            return
        promoted = record.model_copy(update={"created_at": w.inputs.now, "promoted_at": w.inputs.now})
        w.status = w.status.model_copy(update={"stable": promoted, "candidate": None})
        w.note(
            EventType.NORMAL,
            "Promoted",
            f"{desired.name} is the default deployment (the first revision: nothing to compare with)",
            desired.name,
            (Trigger.PROMOTED,),
        )
        return
    if st.stable.name not in w.inputs.revisions and st.stable.spec_hash == desired.spec_hash:
        # Deleted by hand: rebuilt from the spec, which still describes it. Once Git holds another revision
        # the spec cannot rebuild the default (that would run the candidate's bits as the default).
        w.actions.append(EnsureBatchRevision(st.stable.name))
    if st.stable.spec_hash == desired.spec_hash or st.is_failed(desired.spec_hash):
        if st.candidate is not None:  # Git went back to the default, or to a failed revision
            _drop_candidate(w, "Superseded", f"{st.candidate.name} was replaced in Git before it finished")
        return
    if st.candidate is None or st.candidate.spec_hash != desired.spec_hash:
        if st.candidate is not None:
            _drop_candidate(w, "Superseded", f"{st.candidate.name} was replaced in Git by {desired.name}")
        w.status = w.status.model_copy(
            update={"candidate": record.model_copy(update={"created_at": w.inputs.now})}
        )
        w.set_batch(comparison=None)
        w.note(
            EventType.NORMAL,
            "RolloutStarted",
            f"comparing {desired.name} with {st.stable.name}",
            desired.name,
        )
    if desired.name not in w.inputs.revisions:
        w.actions.append(EnsureBatchRevision(desired.name))
        return
    plan = w.inputs.plan
    if plan.rollout is False:
        _promote(w, "no batch.rollout: a new revision becomes the default as soon as it exists")
        return
    _compare(w)


def _compare(w: BatchWork) -> None:
    st, plan = w.status, w.inputs.plan
    assert st.stable is not None
    assert st.candidate is not None
    cand_run, stable_run = validation_runs(w.inputs.owner, st.candidate.spec_hash, st.stable.spec_hash)
    runs = {r.name: r for r in w.batch.runs}
    for name, revision in ((cand_run, st.candidate.name), (stable_run, st.stable.name)):
        if name not in runs:
            w.start(StartRun(name, revision, VALIDATION, plan.rollout_input), output_of(plan.output, name))
    runs = {r.name: r for r in w.batch.runs}
    cand, base = runs[cand_run], runs[stable_run]
    if not (cand.done and base.done):
        return
    if cand.phase is RunPhase.FAILED:
        _fail(w, f"its validation run {cand.name} failed: {cand.message or 'the Job failed'}")
        return
    if base.phase is RunPhase.FAILED:
        _fail(
            w,
            f"the default revision's validation run {base.name} failed, so there is nothing to compare with",
        )
        return
    if cand.error_rate > plan.max_error_rate:
        _fail(
            w,
            f"error rate {cand.error_rate:g} of run {cand.name} is above batch.rollout.maxErrorRate "
            f"{plan.max_error_rate:g}",
        )
        return
    seen = w.inputs.comparison
    previous = w.batch.comparison
    if seen is None:
        w.actions.append(CompareRuns(st.candidate.name, st.stable.name, cand_run, stable_run))
        return
    attempts = (
        previous.attempts if previous is not None and previous.candidate == st.candidate.name else 0
    ) + 1
    result = BatchComparison(
        candidate=st.candidate.name,
        stable=st.stable.name,
        candidate_run=cand_run,
        stable_run=stable_run,
        verdict=seen.verdict.value,
        message=truncate(seen.message),
        stable_rows=seen.stable_rows,
        candidate_rows=seen.candidate_rows,
        error_rate=cand.error_rate,
        prediction_statistic=seen.prediction_statistic,
        attempts=attempts,
        time=w.inputs.now,
    )
    w.set_batch(comparison=result)
    rows = _row_count_problem(seen.stable_rows, seen.candidate_rows, plan.max_row_count_delta)
    if seen.verdict is Verdict.FAILED or (seen.verdict is Verdict.SUCCESSFUL and rows):
        _fail(w, rows if seen.verdict is Verdict.SUCCESSFUL else seen.message)
    elif seen.verdict is Verdict.SUCCESSFUL:
        _promote(w, f"its outputs compared well with {st.stable.name}'s: {seen.message}")
    elif attempts >= COMPARE_ATTEMPTS:
        _fail(w, f"the outputs could not be compared after {attempts} attempts: {seen.message}")
    else:
        w.actions.append(RequeueAfter(COMPARE_RETRY))


def _row_count_problem(stable: int | None, candidate: int | None, limit: float) -> str:
    if stable is None or candidate is None:
        return "row counts missing from the outputs"
    delta = abs(candidate - stable) / stable if stable else (0.0 if candidate == 0 else 1.0)
    if delta > limit:
        return (
            f"row count {candidate} differs from the default revision's {stable} by {delta:.2%}, more than "
            f"batch.rollout.maxRowCountDelta {limit:g}"
        )
    return ""


def _promote(w: BatchWork, why: str) -> None:
    st = w.status
    assert st.stable is not None
    assert st.candidate is not None
    old, new = st.stable, st.candidate.model_copy(update={"promoted_at": w.inputs.now})
    w.status = st.model_copy(update={"stable": new, "candidate": None})
    w.actions.append(DeleteBatchRevision(old.name))
    w.note(
        EventType.NORMAL,
        "Promoted",
        f"{new.name} is the default deployment: {why}",
        new.name,
        (Trigger.PROMOTED,),
    )


def _fail(w: BatchWork, why: str) -> None:
    st = w.status
    assert st.candidate is not None
    assert st.stable is not None
    cand = st.candidate
    failed = FailedRevision(
        spec_hash=cand.spec_hash,
        name=cand.name,
        reason="ComparisonFailed",
        message=truncate(why),
        failed_at=w.inputs.now,
        model_version=cand.model_version or None,
    )
    kept = [f for f in st.failed_revisions if f.spec_hash != cand.spec_hash]
    w.status = st.model_copy(
        update={"candidate": None, "failed_revisions": [*kept, failed][-FAILED_REVISIONS_LIMIT:]}
    )
    w.actions.append(DeleteBatchRevision(cand.name))
    w.note(
        EventType.WARNING,
        "RolledBack",
        f"{cand.name} failed its comparison ({why}); {st.stable.name} stays the default deployment",
        cand.name,
        (Trigger.ROLLED_BACK,),
    )


def _drop_candidate(w: BatchWork, reason: str, message: str) -> None:
    cand = w.status.candidate
    assert cand is not None
    w.status = w.status.model_copy(update={"candidate": None})
    w.set_batch(comparison=None)
    w.actions.append(DeleteBatchRevision(cand.name))
    w.note(EventType.NORMAL, reason, message, cand.name)


def _schedules(w: BatchWork) -> None:
    stable = w.status.stable
    if stable is None:
        return
    key = f"{stable.name}/{w.inputs.plan.schedules_key}"
    if w.batch.schedules_applied != key:
        w.actions.append(ApplySchedules(stable.name, key))


def _phase(w: BatchWork) -> None:
    st, desired = w.status, w.inputs.desired
    if st.stable is None:
        phase, message = Phase.PENDING, f"creating {desired.name}"
    elif st.candidate is not None:
        phase, message = Phase.PROGRESSING, f"comparing {st.candidate.name} with the default {st.stable.name}"
    elif st.stable.spec_hash == desired.spec_hash:
        phase, message = Phase.PROMOTED, f"{st.stable.name} is the default deployment"
    else:
        failed = next((f for f in st.failed_revisions if f.spec_hash == desired.spec_hash), None)
        why = failed.message if failed is not None else "it failed"
        phase = Phase.ROLLED_BACK
        message = (
            f"Git holds revision {desired.name} which failed ({why}); {st.stable.name} stays the default "
            "deployment. Change the spec to try again."
        )
    w.status = w.status.model_copy(update={"phase": phase, "message": truncate(message)})


def _requeue(w: BatchWork) -> None:
    """Timers as requeue-afters: the next poll, the next schedule time (to record its Job), runs in flight."""
    now, plan = w.inputs.now, w.inputs.plan
    waits = [a.seconds for a in w.actions if isinstance(a, RequeueAfter)]
    if w.batch.next_poll_at is not None:
        waits.append(max(1.0, (w.batch.next_poll_at - now).total_seconds()))
    if plan.next_fire is not None:
        waits.append(max(1.0, (plan.next_fire - now).total_seconds() + 2.0))
    w.actions = [a for a in w.actions if not isinstance(a, RequeueAfter)]
    if waits:
        w.actions.append(RequeueAfter(min(waits)))
