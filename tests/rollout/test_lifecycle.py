"""Supersede, failed specs, readiness deadline, revision failures, deletion, status shape."""

from __future__ import annotations

from rollout_world import World, desired

from modeldeploy.api.status import ManualAction, ModelDeploymentStatus, Phase, Verdict
from modeldeploy.rollout import decide
from modeldeploy.rollout.actions import SetTraffic
from modeldeploy.rollout.plan import RolloutPlan, canary_steps

V1, V2, V3 = desired("v1").name, desired("v2").name, desired("v3").name


def promoted_v1(plan: RolloutPlan) -> World:
    w = World(plan=plan)
    w.tick()
    w.tick(10)
    return w


def test_a_new_spec_mid_rollout_supersedes_the_candidate() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10, 50), 60)))
    w.set_model("v2")
    w.run(100)
    assert w.status.current_step_index == 1
    w.set_model("v3")
    w.tick(10)
    assert "Superseded" in w.reasons()
    assert w.weights() == {V1: 100}, "traffic back to stable first"
    assert w.candidate() == V3
    assert not w.status.is_failed(desired("v2").spec_hash), "superseded is not failed"
    w.run(300)
    assert w.stable() == V3
    assert V2 in w.deleted


def test_reverting_git_mid_rollout_returns_to_stable_without_a_new_candidate() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10, 50), 60)))
    w.set_model("v2")
    w.run(40)
    w.set_model("v1")
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    assert w.status.candidate is None
    assert w.weights() == {V1: 100}


def test_a_spec_equal_to_a_failed_revision_is_not_retried_until_it_changes() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60)))
    w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    created = w.reasons().count("RolloutStarted")
    w.run(600)
    assert w.reasons().count("RolloutStarted") == created
    w.set_model("v3")
    w.run(200)
    assert w.stable() == V3
    w.set_model("v2")  # back to the spec that failed: still refused
    w.run(200)
    assert w.status.phase is Phase.ROLLED_BACK
    assert all(V2 not in s.weights for s in w.applied[-3:])


def test_readiness_deadline_fails_a_revision_that_never_becomes_ready() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60), progress_deadline=300))
    w.slow.add("v2")
    w.set_model("v2")
    w.run(290)
    assert w.status.phase is Phase.PROGRESSING
    assert w.status.message == f"waiting for revision {V2} to become Ready"
    w.run(20)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "ProgressDeadlineExceeded: not Ready 300s after creation" in w.status.message
    assert all(V2 not in s.weights for s in w.applied)


def test_a_revision_the_backend_reports_failed_is_failed_at_once() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60)))
    w.broken.add("v2")
    w.set_model("v2")
    w.tick(10)
    w.tick(10)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "RevisionFailed" in w.status.message


def test_a_first_revision_that_never_becomes_ready_leaves_phase_failed() -> None:
    w = World(plan=RolloutPlan(progress_deadline=60))
    w.slow.add("v1")
    w.run(80)
    assert w.status.phase is Phase.FAILED
    assert "no earlier revision can serve" in w.status.message
    w.slow.discard("v1")
    w.request(ManualAction.RETRY)
    w.run(30)
    assert w.status.phase is Phase.PROMOTED


def test_conditions_keep_their_transition_time_while_unchanged() -> None:
    w = promoted_v1(RolloutPlan())
    available = next(c for c in w.status.conditions if c.type == "Available")
    w.run(100)
    again = next(c for c in w.status.conditions if c.type == "Available")
    assert again.status == "True"
    assert again.last_transition_time == available.last_transition_time
    assert again.observed_generation == w.generation


def test_history_is_bounded() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 10)))
    for i in range(10):
        w.set_model(("v2", "v3")[i % 2])
        w.run(60)
    assert len(w.events) > 20
    assert [h.reason for h in w.status.history] == [e.reason for e in w.events[-20:]], "the newest 20 kept"


def test_a_partial_status_from_the_apiserver_is_accepted_and_traffic_repaired() -> None:
    w = promoted_v1(RolloutPlan())
    stored = {"stable": w.status.to_body()["stable"], "traffic": {"weights": {V1: 30, V2: 70}}}
    w.status = ModelDeploymentStatus.model_validate(stored)
    decision = decide(w.inputs())
    assert decision.status.traffic.weights == {V1: 100}
    assert not any(isinstance(a, SetTraffic) for a in decision.actions), "observed traffic already matches"


def test_merge_patch_nulls_revisions_that_left_the_traffic() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60)))
    w.set_model("v2")
    w.run(30)
    before = w.status
    w.run(100)
    patch = w.status.to_merge_patch(before)
    traffic = patch["traffic"]
    assert isinstance(traffic, dict)
    assert traffic["weights"] == {V1: None, V2: 100}
    assert patch["candidate"] is None, "cleared fields are sent as null so the apiserver drops them"


def test_reverting_within_the_grace_period_reuses_the_old_revision() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((50,), 30), scale_down_delay=600))
    w.set_model("v2")
    w.run(100)
    assert w.stable() == V2
    assert [r.name for r in w.status.retired_revisions] == [V1]
    w.set_model("v1")
    w.tick(10)
    assert w.candidate() == V1
    assert w.status.retired_revisions == []
    w.run(900)
    assert w.stable() == V1
    assert V1 not in w.deleted, "the revision still running was taken back, not deleted and recreated"


def test_the_stable_is_still_watched_for_drift_after_a_rollback() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60), monitor_interval=120, retrain_on_drift=True))
    w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    w.drift.add("v1")
    w.run(300)
    assert [r.revision for r in w.retrained] == [V1]
    assert w.status.phase is Phase.ROLLED_BACK
