"""Canary and champion-challenger: steps, analysis, failure limits, inconclusive handling, drift."""

from __future__ import annotations

import pytest
from rollout_world import World, desired

from modeldeploy.api.status import Phase, Verdict
from modeldeploy.rollout.plan import RolloutPlan, Step, canary_steps, champion_challenger_steps

V1, V2 = desired("v1").name, desired("v2").name


def promoted_v1(plan: RolloutPlan) -> World:
    w = World(plan=plan)
    w.tick()
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    assert w.weights() == {V1: 100}
    return w


def test_first_revision_goes_straight_to_100_once_ready() -> None:
    w = World(plan=RolloutPlan(steps=canary_steps((10, 50), 60)))
    w.tick()
    assert w.status.phase is Phase.PENDING
    assert w.traffic is None, "no traffic before the first revision is Ready"
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    assert w.stable() == V1
    assert w.reasons() == ["RolloutStarted", "RevisionReady", "FirstRevisionPromoted"]


def test_canary_10_25_50_then_promoted() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10, 25, 50), 60)))
    w.set_model("v2")
    w.run(300)
    assert [dict(s.weights).get(V2, 0) for s in w.applied] == [0, 10, 25, 50, 100]
    assert w.status.phase is Phase.PROMOTED
    assert w.stable() == V2
    assert w.status.candidate is None
    assert w.analyses == 3, "one successful analysis per step"
    assert V1 in w.deleted, "the old stable is deleted after its grace period"


def test_a_step_does_not_end_before_its_duration_or_without_a_successful_analysis() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 120), analysis_interval=60))
    w.set_model("v2")
    w.tick(10)
    w.tick(10)
    assert w.status.current_step_index == 0
    w.verdicts["v2"] = Verdict.INCONCLUSIVE
    w.run(130)
    assert w.status.current_step_index == 0, "duration passed but no successful analysis yet"
    w.verdicts["v2"] = Verdict.SUCCESSFUL
    w.run(60)
    assert w.status.phase is Phase.PROMOTED


def test_champion_challenger_holds_90_10_until_analysis_passes() -> None:
    w = promoted_v1(RolloutPlan(steps=champion_challenger_steps(10, 600)))
    w.set_model("v2")
    w.run(300)
    assert w.weights() == {V1: 90, V2: 10}
    assert w.status.message.startswith("step 1/1: revision")
    w.run(320)
    assert w.status.phase is Phase.PROMOTED


def test_failed_analysis_rolls_back_to_stable_and_reports_git_holds_failed_revision() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10, 50), 60)))
    w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(120)
    assert w.weights() == {V1: 100}
    assert w.status.phase is Phase.ROLLED_BACK
    assert f"Git holds revision {V2} which failed (AnalysisFailed" in w.status.message
    assert w.status.is_failed(desired("v2").spec_hash)
    assert V2 in w.deleted
    assert "AnalysisFailed" in w.reasons()


def test_failure_limit_tolerates_that_many_failures_in_a_row() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 600), failure_limit=2))
    w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(150)  # two analyses, both failed
    assert w.status.counters.consecutive_failures == 2
    assert w.status.phase is Phase.PROGRESSING
    w.run(60)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "3 failed analyses in a row" in w.status.message


def test_a_success_resets_the_failure_count() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 6000), failure_limit=1))
    w.set_model("v2")
    for verdict in (Verdict.FAILED, Verdict.SUCCESSFUL, Verdict.FAILED, Verdict.SUCCESSFUL):
        w.verdicts["v2"] = verdict
        w.run(60)
    assert w.status.phase is Phase.PROGRESSING
    assert w.status.counters.consecutive_failures == 0


def test_inconclusive_beyond_limit_pauses_for_a_human() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10, 50), 60), inconclusive_limit=1))
    w.verdicts["v2"] = Verdict.INSUFFICIENT_DATA
    w.set_model("v2")
    w.run(200)
    assert w.status.phase is Phase.PAUSED
    assert "AnalysisInconclusive" in w.reasons()
    assert w.weights() == {V1: 90, V2: 10}, "traffic holds while paused"


def test_analysis_errors_fail_only_past_the_error_limit() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 6000), error_limit=2))
    w.verdicts["v2"] = Verdict.ERROR
    w.set_model("v2")
    w.run(190)
    assert w.status.phase is Phase.PROGRESSING
    w.run(60)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "analysis errors in a row" in w.status.message


def test_drift_rolls_back_and_fires_retraining_once() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60), failure_limit=5, retrain_on_drift=True))
    w.drift.add("v2")
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "data drift" in w.status.message
    assert [r.drift_id for r in w.retrained] == ["drift-v2"]
    assert w.status.retraining is not None
    assert w.status.retraining.features == ["amount"]
    w.run(300)
    assert len(w.retrained) == 1, "fired once per confirmed drift"


def test_drift_without_retraining_asked_fires_nothing() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60)))
    w.drift.add("v2")
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    assert w.retrained == []


def test_steady_state_monitoring_retrains_on_stable_drift_without_rollback() -> None:
    w = promoted_v1(RolloutPlan(monitor_interval=300, retrain_on_drift=True))
    w.drift.add("v1")
    w.run(900)
    assert w.status.phase is Phase.PROMOTED
    assert [r.drift_id for r in w.retrained] == ["drift-v1"]
    assert any(c.type == "DriftDetected" and c.status == "True" for c in w.status.conditions)


def test_hold_at_100_keeps_stable_until_the_step_ends() -> None:
    w = promoted_v1(RolloutPlan(steps=(Step(50, duration=60), Step(100, duration=120))))
    w.set_model("v2")
    w.run(100)
    assert w.weights() == {V2: 100}
    assert w.stable() == V1, "stable still runs for instant rollback"
    w.run(120)
    assert w.stable() == V2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": 101}, "step weight must be in 0..100, got 101"),
        ({"weight": 10, "mirror_percent": 5}, "cannot mirror to a candidate that takes live traffic"),
        ({"weight": 0, "duration": -1}, "step duration must not be negative, got -1"),
    ],
)
def test_bad_steps_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Step(**kwargs)


def test_bad_plans_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_limit must not be negative, got -1"):
        RolloutPlan(failure_limit=-1)
    with pytest.raises(ValueError, match="progress_deadline must be positive, got 0"):
        RolloutPlan(progress_deadline=0)
