"""The batch machine, scenario by scenario: first revision, comparison passed / failed / unreadable,
manual and data-arrival triggers, failed runs alerting, a crash between the status write and the Job."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from batch_world import BatchWorld, desired

from modeldeploy.api.batch_status import BatchStatus, RunPhase
from modeldeploy.api.notifications import Trigger
from modeldeploy.api.status import ManualAction, ManualRequest, Phase, Verdict
from modeldeploy.rollout.actions import RequeueAfter
from modeldeploy.rollout.batch import validation_runs
from modeldeploy.rollout.batch_types import (
    COMPARE_ATTEMPTS,
    ApplySchedules,
    ComparisonSeen,
    EnsureBatchRevision,
    JobSeen,
    run_name,
)


def old_hash(w: BatchWorld) -> str:
    assert w.status.stable is not None
    return w.status.stable.spec_hash


def promoted_world() -> BatchWorld:
    w = BatchWorld()
    w.step()  # template created
    w.step()  # the first revision becomes the default
    assert w.status.stable is not None
    return w


def test_first_revision_becomes_the_default_once_its_template_exists() -> None:
    w = BatchWorld()
    d = w.step()
    assert EnsureBatchRevision(w.desired.name) in d.actions
    assert w.status.stable is None
    assert w.status.phase is Phase.PENDING
    d = w.step()
    assert w.status.stable is not None
    assert w.status.stable.name == w.desired.name
    assert w.status.phase is Phase.PROMOTED
    assert any(isinstance(a, ApplySchedules) and a.revision == w.desired.name for a in d.actions)
    promoted = [e for e in w.events if e.reason == "Promoted"]
    assert promoted[0].notices == (Trigger.PROMOTED,)


def test_a_candidate_that_compares_well_becomes_the_default() -> None:
    w = promoted_world()
    old = w.status.stable
    assert old is not None
    w.desired = desired("2.0.0")
    w.step()  # candidate recorded, template asked for
    assert w.status.candidate is not None
    assert w.status.phase is Phase.PROGRESSING
    w.step()  # both validation runs started
    cand_run, stable_run = validation_runs("churn", w.desired.spec_hash, old_hash(w))
    assert {s.name for s in w.started} >= {cand_run, stable_run}
    starts = {s.name: s for s in w.started}
    assert starts[cand_run].revision == w.desired.name
    assert starts[stable_run].revision == old.name
    assert starts[cand_run].input == "file:///data/golden/"
    w.step()
    assert w.compared == []  # runs still going: nothing to compare
    assert w.status.stable == old
    w.finish_all()
    w.tick()
    d = w.step()
    assert len(w.compared) == 1
    assert w.status.stable is not None
    assert w.status.stable.name == w.desired.name
    assert w.status.candidate is None
    assert w.status.phase is Phase.PROMOTED
    assert old.name not in w.templates  # the old default's template is deleted
    comparison = w.status.batch.comparison if w.status.batch else None
    assert comparison is not None
    assert comparison.verdict == "Successful"
    assert (comparison.stable_rows, comparison.candidate_rows) == (100, 100)
    assert any(isinstance(a, ApplySchedules) and a.revision == w.desired.name for a in d.actions)


def _fail_with(verdict: ComparisonSeen | None = None, candidate_ok: bool = True) -> BatchWorld:
    w = promoted_world()
    old = w.status.stable
    w.desired = desired("2.0.0")
    if verdict is not None:
        w.verdict = verdict
    w.step()
    w.step()
    cand_run, stable_run = validation_runs("churn", w.desired.spec_hash, old_hash(w))
    w.finish(cand_run, candidate_ok)
    w.finish(stable_run, True)
    w.step()
    assert w.status.stable == old, "the default must not change on a failed comparison"
    return w


def test_a_failed_prediction_comparison_fails_the_revision_and_the_default_stays() -> None:
    w = _fail_with(ComparisonSeen(Verdict.FAILED, "predictions differ: jensenShannon = 0.4", 100, 100, 0.4))
    assert w.status.phase is Phase.ROLLED_BACK
    assert w.status.failed_revisions[-1].name == w.desired.name
    assert w.status.failed_revisions[-1].reason == "ComparisonFailed"
    assert "predictions differ: jensenShannon = 0.4" in w.status.failed_revisions[-1].message
    assert "stays the default deployment" in w.status.message
    rolled = [e for e in w.events if e.reason == "RolledBack"]
    assert rolled[-1].notices == (Trigger.ROLLED_BACK,)
    assert w.desired.name not in w.templates
    # The failed spec is never tried again: no new validation runs, whatever happens next.
    before = len(w.started)
    for _ in range(3):
        w.tick(60)
        w.step()
    assert [s.name for s in w.started[before:]] == []
    assert w.status.candidate is None


def test_a_row_count_difference_fails_the_revision_naming_the_bound() -> None:
    w = _fail_with(ComparisonSeen(Verdict.SUCCESSFUL, "same predictions", 100, 97, 0.01))
    msg = w.status.failed_revisions[-1].message
    assert msg == (
        "row count 97 differs from the default revision's 100 by 3.00%, more than "
        "batch.rollout.maxRowCountDelta 0"
    )


def test_a_row_count_within_the_allowed_delta_passes() -> None:
    w = promoted_world()
    w.plan = replace(w.plan, max_row_count_delta=0.05)
    w.verdict = ComparisonSeen(Verdict.SUCCESSFUL, "same predictions", 100, 97, 0.01)
    w.desired = desired("2.0.0")
    w.step()
    w.step()
    w.finish_all()
    w.step()
    assert w.status.stable is not None
    assert w.status.stable.name == w.desired.name


def test_a_failed_candidate_run_fails_the_revision() -> None:
    w = _fail_with(candidate_ok=False)
    assert w.compared == []
    assert "its validation run" in w.status.failed_revisions[-1].message


def test_error_rate_above_the_bound_fails_before_any_comparison() -> None:
    w = promoted_world()
    w.desired = desired("2.0.0")
    w.step()
    w.step()
    cand_run, stable_run = validation_runs("churn", w.desired.spec_hash, old_hash(w))
    w.finish(cand_run, True, failed_pods=1)  # one retried pod: error rate 0.5, the Job still completed
    w.finish(stable_run)
    w.step()
    assert w.compared == []
    assert w.status.failed_revisions[-1].message.startswith("error rate 0.5 of run")


def test_unreadable_outputs_are_looked_for_again_then_fail() -> None:
    w = promoted_world()
    w.desired = desired("2.0.0")
    w.verdict = ComparisonSeen(Verdict.INCONCLUSIVE, "no output at /data/out/x yet")
    w.step()
    w.step()
    w.finish_all()
    for attempt in range(1, COMPARE_ATTEMPTS):
        d = w.step()
        assert w.status.candidate is not None
        assert w.status.batch is not None
        assert w.status.batch.comparison is not None
        assert w.status.batch.comparison.attempts == attempt
        assert any(isinstance(a, RequeueAfter) and a.seconds <= 10 for a in d.actions)
        w.tick()
    w.step()
    assert w.status.candidate is None
    assert w.status.failed_revisions[-1].message == (
        f"the outputs could not be compared after {COMPARE_ATTEMPTS} attempts: no output at /data/out/x yet"
    )


def test_git_reverting_to_the_default_drops_the_candidate() -> None:
    w = promoted_world()
    first = w.desired
    w.desired = desired("2.0.0")
    w.step()
    w.desired = first
    w.step()
    assert w.status.candidate is None
    assert w.status.phase is Phase.PROMOTED
    assert "Superseded" in w.reasons()


def test_a_manual_run_starts_once_per_request() -> None:
    w = promoted_world()
    w.request("r1", "file:///data/adhoc/")
    w.step()
    manual = [s for s in w.started if s.trigger == "manual"]
    assert len(manual) == 1
    assert manual[0].input == "file:///data/adhoc/"
    assert manual[0].revision == w.status.stable.name if w.status.stable else False
    assert w.status.batch is not None
    assert w.status.batch.last_handled_run_id == "r1"
    assert w.status.batch.last_handled_run_result == f"started run {manual[0].name}"
    w.step()
    w.step()
    assert len([s for s in w.started if s.trigger == "manual"]) == 1
    w.request("r2")  # no --input: batch.input
    w.step()
    manual = [s for s in w.started if s.trigger == "manual"]
    assert [m.input for m in manual] == ["file:///data/adhoc/", "file:///data/in/"]
    assert manual[0].name != manual[1].name


def test_a_manual_run_refused_by_the_policy_starts_nothing() -> None:
    w = promoted_world()
    w.request("r1", "file:///etc/")
    w.step(refusal='local path "/etc" is not granted')
    assert [s for s in w.started if s.trigger == "manual"] == []
    assert w.status.batch is not None
    assert w.status.batch.last_handled_run_result == 'refused: local path "/etc" is not granted'
    assert "RunRefused" in w.reasons()


def test_a_manual_run_before_any_default_is_refused() -> None:
    w = BatchWorld()
    w.request("r1")
    w.step()
    assert w.status.batch is not None
    assert w.status.batch.last_handled_run_result == "refused: no revision is the default yet"


def test_data_arrival_first_poll_sets_the_watermark_then_new_files_run_in_bounded_ranges() -> None:
    w = promoted_world()
    w.step(arrivals=("2026/11/30/0100.csv",))
    assert w.status.batch is not None
    assert w.status.batch.watermark == "2026/11/30/0100.csv"
    assert [s for s in w.started if s.trigger == "dataArrival"] == []
    w.tick(60)
    w.step(arrivals=("2026/11/30/0200.csv", "2026/11/30/0300.csv", "2026/11/30/0400.csv"))
    runs = [s for s in w.started if s.trigger == "dataArrival"]
    assert len(runs) == 1
    assert (runs[0].after, runs[0].upto) == ("2026/11/30/0100.csv", "2026/11/30/0300.csv")  # maxFiles 2
    assert w.status.batch is not None
    assert w.status.batch.watermark == "2026/11/30/0300.csv"
    assert w.status.batch.next_poll_at == w.now + timedelta(seconds=60)  # batch.dataArrival.pollInterval
    w.tick(60)
    w.step(arrivals=("2026/11/30/0400.csv",))
    runs = [s for s in w.started if s.trigger == "dataArrival"]
    assert (runs[1].after, runs[1].upto) == ("2026/11/30/0300.csv", "2026/11/30/0400.csv")


def test_on_azure_ml_each_new_file_is_its_own_run_and_few_run_at_once() -> None:
    """A batch job takes one input: the machine hands Azure ML one file per run, in (after, upto] ranges of
    one name each, at most maxFilesPerRun per poll and ARRIVALS_IN_FLIGHT running; the rest wait below the
    watermark for a later poll."""
    w = promoted_world()
    w.plan = replace(w.plan, file_per_run=True, max_files=3)
    w.step(arrivals=())
    assert w.status.batch is not None
    assert w.status.batch.watermark == ""
    w.tick(60)
    files = tuple(f"2026/11/30/{h:02d}00.csv" for h in range(1, 8))
    w.step(arrivals=files)
    runs = [s for s in w.started if s.trigger == "dataArrival"]
    assert [(r.after, r.upto) for r in runs] == [("", files[0]), (files[0], files[1]), (files[1], files[2])]
    assert all(r.one_file for r in runs)
    assert w.status.batch is not None
    recorded = {r.name: r.input for r in w.status.batch.runs}
    assert recorded[runs[0].name] == "file:///data/incoming/2026/11/30/0100.csv"  # the file, not a range
    assert len({r.name for r in runs}) == 3
    assert w.status.batch.watermark == files[2]
    w.tick(60)
    w.step(arrivals=files[3:])  # three still running: room for one more (ARRIVALS_IN_FLIGHT = 4)
    runs = [s for s in w.started if s.trigger == "dataArrival"]
    assert [(r.after, r.upto) for r in runs[3:]] == [(files[2], files[3])]
    w.tick(60)
    w.step(arrivals=files[4:])  # four running: nothing starts, the files wait
    assert len([s for s in w.started if s.trigger == "dataArrival"]) == 4
    assert w.status.batch is not None
    assert w.status.batch.watermark == files[3]
    w.finish_all()
    w.tick(60)
    w.step(arrivals=files[4:])
    runs = [s for s in w.started if s.trigger == "dataArrival"]
    assert [r.upto for r in runs[4:]] == list(files[4:7])
    assert w.status.batch is not None
    assert w.status.batch.watermark == files[6]


def test_a_failed_run_is_a_warning_tagged_for_notifications() -> None:
    w = promoted_world()
    w.request("r1")
    w.step()
    name = next(s.name for s in w.started if s.trigger == "manual")
    w.jobs[name] = replace(
        w.jobs[name],
        phase=RunPhase.FAILED,
        failed=2,
        message="BackoffLimitExceeded: Job has reached the specified backoff limit",
    )
    w.step()
    failed = [e for e in w.events if e.reason == "RunFailed"]
    assert len(failed) == 1
    assert failed[0].notices == (Trigger.RUN_FAILED,)
    assert "BackoffLimitExceeded" in failed[0].message
    w.step()
    assert len([e for e in w.events if e.reason == "RunFailed"]) == 1  # once, not every reconcile
    run = next(r for r in (w.status.batch.runs if w.status.batch else []) if r.name == name)
    assert run.phase is RunPhase.FAILED
    assert run.error_rate == 1.0


def test_a_cronjob_run_is_recorded_when_seen() -> None:
    w = promoted_world()
    assert w.status.stable is not None
    name = run_name("churn", "nightly") + "-29410680"
    w.jobs[name] = JobSeen(
        name, w.status.stable.name, "schedule/nightly", "file:///data/in/", "file:///o/x/", created_at=w.now
    )
    w.step()
    runs = {r.name: r for r in (w.status.batch.runs if w.status.batch else [])}
    assert runs[name].trigger == "schedule/nightly"
    assert runs[name].phase is RunPhase.RUNNING
    w.finish(name)
    w.step()
    runs = {r.name: r for r in (w.status.batch.runs if w.status.batch else [])}
    assert runs[name].phase is RunPhase.SUCCEEDED
    assert "RunSucceeded" in w.reasons()


def test_a_run_recorded_but_never_created_is_created_again_by_the_same_name() -> None:
    w = promoted_world()
    w.request("r1")
    w.step()
    name = next(s.name for s in w.started if s.trigger == "manual")
    del w.jobs[name]  # the operator died between the status write and the create
    w.step()
    again = [s for s in w.started if s.name == name]
    assert len(again) == 2
    assert again[0] == again[1]


def test_schedules_are_applied_only_when_they_or_the_default_change() -> None:
    w = promoted_world()
    d = w.step()
    assert any(isinstance(a, ApplySchedules) for a in d.actions)  # not recorded as applied yet
    key = next(a.key for a in d.actions if isinstance(a, ApplySchedules))
    batch = (w.status.batch or BatchStatus()).model_copy(update={"schedules_applied": key})
    w.status = w.status.model_copy(update={"batch": batch})
    d = w.step()
    assert not any(isinstance(a, ApplySchedules) for a in d.actions)
    w.plan = replace(w.plan, schedules_key="hourly=0 * * * *@UTC|x")
    d = w.step()
    assert any(isinstance(a, ApplySchedules) for a in d.actions)


def test_run_history_is_bounded_and_keeps_running_runs() -> None:
    w = promoted_world()
    for i in range(30):
        w.request(f"r{i}")
        w.step()
        if i != 0:
            w.finish_all()
            w.jobs[next(iter(w.jobs))] = replace(next(iter(w.jobs.values())), phase=RunPhase.RUNNING)
        w.step()
        w.tick()
    runs = w.status.batch.runs if w.status.batch else []
    assert len(runs) == 20
    first = next(s.name for s in w.started if s.trigger == "manual")
    assert first in {r.name for r in runs}, "a run still going is never dropped"


def test_an_online_action_on_a_batch_model_is_answered_rejected() -> None:
    w = promoted_world()
    request = ManualRequest(action=ManualAction.PROMOTE, id="p1")
    w.status = w.status.model_copy(update={"request": request})
    w.step()
    assert w.status.last_handled_request_id == "p1"
    assert w.status.last_handled_request_result == (
        "rejected: promote is for online models; a batch model takes kubectl mdep run"
    )


def test_a_deleted_default_template_is_rebuilt_only_from_its_own_spec() -> None:
    w = promoted_world()
    assert w.status.stable is not None
    default = w.status.stable.name
    w.templates.discard(default)
    d = w.step()
    assert EnsureBatchRevision(default) in d.actions
    w.templates.discard(default)
    w.desired = desired("2.0.0")
    d = w.step()
    assert EnsureBatchRevision(default) not in d.actions


def test_a_scheduled_run_first_seen_finished_is_recorded_even_after_newer_runs() -> None:
    w = promoted_world()
    assert w.status.stable is not None
    early = w.now
    w.tick(30)
    w.request("r1")
    w.step()  # a manual run, created after the scheduled one below
    name = run_name("churn", "nightly") + "-1"
    w.jobs[name] = JobSeen(name, w.status.stable.name, "schedule/nightly", created_at=early)
    w.finish(name)
    w.step()
    runs = {r.name: r for r in (w.status.batch.runs if w.status.batch else [])}
    assert runs[name].phase is RunPhase.SUCCEEDED
