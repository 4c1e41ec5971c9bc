"""Which Events stand for which subscribable transitions (``EmitEvent.notices``): the machine says
so where it makes the transition, since one reason (DriftDetected, AnalysisError) can be a rollback or a
pause."""

from __future__ import annotations

from rollout_world import World, desired

from modeldeploy.api.notifications import Trigger as T
from modeldeploy.api.status import ManualAction, Phase, Verdict
from modeldeploy.rollout.plan import RolloutPlan, Step, canary_steps

V2 = desired("v2").name


def notices(w: World) -> list[tuple[str, tuple[T, ...]]]:
    return [(e.reason, e.notices) for e in w.events if e.notices]


def promoted_v1(plan: RolloutPlan) -> World:
    w = World(plan=plan)
    w.tick()
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    w.events.clear()
    return w


def test_first_rollout_and_a_canary_promoted() -> None:
    w = World(plan=RolloutPlan(steps=canary_steps((10, 50), 60)))
    w.tick()
    w.tick(10)
    assert notices(w) == [("RolloutStarted", (T.STARTED,)), ("FirstRevisionPromoted", (T.PROMOTED,))]
    w.events.clear()
    w.set_model("v2")
    w.run(400)
    assert notices(w) == [
        ("RolloutStarted", (T.STARTED,)),
        ("StepStarted", (T.STEP_ADVANCED,)),
        ("StepStarted", (T.STEP_ADVANCED,)),
        ("Promoted", (T.PROMOTED,)),
    ]
    assert all(e.revision == V2 for e in w.events if e.notices)
    assert ("RevisionReady", ()) in [(e.reason, e.notices) for e in w.events]


def test_a_gate_step_is_a_step_and_a_pause_and_a_promotion_by_request_is_a_promotion() -> None:
    w = promoted_v1(RolloutPlan(steps=(Step(10, duration=None), Step(100, duration=60))))
    w.set_model("v2")
    w.run(60)
    assert notices(w)[-1] == ("StepStarted", (T.STEP_ADVANCED, T.PAUSED))
    w.request(ManualAction.PROMOTE_FULL)
    w.run(30)
    assert notices(w)[-1] == ("PromotedByRequest", (T.PROMOTED,))


def test_drift_rolls_back_as_a_rollback_a_drift_and_a_retraining() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60), failure_limit=5, retrain_on_drift=True))
    w.drift.add("v2")
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    tagged = dict(notices(w))
    assert tagged["DriftDetected"] == (T.ROLLED_BACK, T.DRIFT_CONFIRMED)
    assert tagged["RetrainingTriggered"] == (T.RETRAINING_STARTED,)  # DriftDetected said the drift


def test_drift_held_by_onDrift_false_is_a_pause_and_a_drift() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60), rollback_on_drift=False))
    w.drift.add("v2")
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.PAUSED
    assert dict(notices(w))["DriftDetected"] == (T.PAUSED, T.DRIFT_CONFIRMED)


def test_stable_drift_is_a_drift_and_a_retraining() -> None:
    w = promoted_v1(RolloutPlan(monitor_interval=300, retrain_on_drift=True))
    w.drift.add("v1")
    w.run(900)
    assert notices(w) == [("RetrainingTriggered", (T.RETRAINING_STARTED, T.DRIFT_CONFIRMED))]


def test_failed_analysis_abort_and_inconclusive() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60)))
    w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(120)
    assert dict(notices(w))["AnalysisFailed"] == (T.ROLLED_BACK,)
    w = promoted_v1(RolloutPlan(steps=canary_steps((10, 50), 60), inconclusive_limit=1))
    w.verdicts["v2"] = Verdict.INSUFFICIENT_DATA
    w.set_model("v2")
    w.run(200)
    assert dict(notices(w))["AnalysisInconclusive"] == (T.PAUSED,)
    w.request(ManualAction.ABORT)
    w.run(20)
    assert notices(w)[-1] == ("Aborted", (T.ROLLED_BACK,))
