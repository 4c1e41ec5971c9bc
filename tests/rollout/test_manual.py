"""Manual requests through the status: promote, promote-full, abort, pause, resume, retry; each once."""

from __future__ import annotations

from rollout_world import World, desired

from modeldeploy.api.status import ManualAction, Phase, Verdict
from modeldeploy.rollout.plan import RolloutPlan, Step, canary_steps

V1, V2 = desired("v1").name, desired("v2").name


def at_first_step(plan: RolloutPlan) -> World:
    w = World(plan=plan)
    w.tick()
    w.tick(10)
    w.set_model("v2")
    w.tick(10)
    w.tick(10)
    assert w.status.current_step_index == 0
    return w


def test_a_step_without_duration_is_a_gate_that_promote_opens() -> None:
    w = at_first_step(RolloutPlan(steps=(Step(10, duration=None), Step(50, duration=None))))
    w.run(3600)
    assert w.status.phase is Phase.PAUSED
    assert w.status.current_step_index == 0
    w.request(ManualAction.PROMOTE)
    w.tick(10)
    assert w.status.current_step_index == 1
    assert w.weights() == {V1: 50, V2: 50}
    assert w.status.last_handled_request_result == "promote accepted"
    w.run(100)
    assert w.status.current_step_index == 1, "a request is handled once"


def test_promote_full_skips_to_100() -> None:
    w = at_first_step(RolloutPlan(steps=canary_steps((10, 25, 50), 600)))
    w.request(ManualAction.PROMOTE_FULL)
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    assert w.weights() == {V2: 100}
    assert "PromotedByRequest" in w.reasons()


def test_abort_returns_traffic_to_stable_and_reports_degraded() -> None:
    w = at_first_step(RolloutPlan(steps=canary_steps((10, 50), 600)))
    w.request(ManualAction.ABORT)
    w.tick(10)
    assert w.weights() == {V1: 100}
    assert w.status.phase is Phase.DEGRADED
    assert w.status.message.startswith(f"Git holds revision {V2} which was aborted; stable revision {V1}")
    w.run(600)
    assert w.status.phase is Phase.DEGRADED, "an aborted spec is not rolled out again by itself"
    assert w.status.candidate is None


def test_pause_holds_the_step_and_resume_releases_it() -> None:
    w = at_first_step(RolloutPlan(steps=canary_steps((10, 50), 60)))
    w.request(ManualAction.PAUSE)
    w.run(600)
    assert w.status.phase is Phase.PAUSED
    assert w.status.current_step_index == 0
    assert w.status.message.startswith("paused at step 1/2 by request")
    w.request(ManualAction.RESUME)
    w.run(200)
    assert w.status.phase is Phase.PROMOTED


def test_a_paused_rollout_still_rolls_back_on_failed_analysis() -> None:
    w = at_first_step(RolloutPlan(steps=canary_steps((10, 50), 60)))
    w.request(ManualAction.PAUSE)
    w.verdicts["v2"] = Verdict.FAILED
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    assert w.weights() == {V1: 100}


def test_retry_clears_the_failed_mark_and_starts_again() -> None:
    w = at_first_step(RolloutPlan(steps=canary_steps((10,), 60)))
    w.verdicts["v2"] = Verdict.FAILED
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    w.verdicts["v2"] = Verdict.SUCCESSFUL
    w.run(300)
    assert w.status.phase is Phase.ROLLED_BACK, "a failed spec is not retried by itself"
    w.request(ManualAction.RETRY)
    w.run(200)
    assert w.status.phase is Phase.PROMOTED
    assert w.stable() == V2


def test_requests_that_do_not_apply_are_rejected_with_the_reason() -> None:
    w = World(plan=RolloutPlan(steps=canary_steps((10,), 60)))
    w.tick()
    w.tick(10)
    cases = [
        (ManualAction.PROMOTE, "promote rejected: no rollout in progress"),
        (ManualAction.ABORT, "abort rejected: no rollout in progress"),
        (ManualAction.RESUME, "resume rejected: not paused"),
        (ManualAction.RETRY, f"retry rejected: revision {V1} has not failed"),
        (ManualAction.PAUSE, "pause rejected: no rollout in progress"),
    ]
    for action, result in cases:
        rid = w.request(action)
        w.tick(10)
        assert (w.status.last_handled_request_id, w.status.last_handled_request_result) == (rid, result)
    assert w.status.phase is Phase.PROMOTED


def test_resume_does_not_open_a_gate_and_promote_needs_a_ready_candidate() -> None:
    w = at_first_step(RolloutPlan(steps=(Step(10, duration=None),)))
    w.request(ManualAction.RESUME)
    w.tick(10)
    assert (
        w.status.last_handled_request_result == "resume rejected: waiting at a gate: use promote (or abort)"
    )
    w.slow.add("v3")
    w.set_model("v3")
    w.tick(10)
    w.request(ManualAction.PROMOTE_FULL)
    w.tick(10)
    v3 = desired("v3").name
    assert w.status.last_handled_request_result == f"promote-full rejected: revision {v3} is not Ready"
    assert v3 not in w.weights()


def test_a_pause_before_the_candidate_is_ready_is_kept_until_resume() -> None:
    w = World(plan=RolloutPlan(steps=canary_steps((10,), 60)))
    w.tick()
    w.tick(10)
    w.slow.add("v2")
    w.set_model("v2")
    w.tick(10)
    w.request(ManualAction.PAUSE)
    w.tick(10)
    w.slow.discard("v2")
    w.run(300)
    assert w.status.phase is Phase.PAUSED
    assert w.weights() == {V1: 100}, "no step starts while paused"
    w.request(ManualAction.RESUME)
    w.run(200)
    assert w.status.phase is Phase.PROMOTED


def test_promote_is_refused_for_a_candidate_git_no_longer_holds() -> None:
    w = at_first_step(RolloutPlan(steps=canary_steps((10, 50), 600)))
    w.request(ManualAction.PROMOTE_FULL)
    w.set_model("v1")  # the revert and the request land in the same reconcile
    w.tick(10)
    assert (
        w.status.last_handled_request_result
        == f"promote-full rejected: revision {V2} is no longer the spec in Git"
    )
    assert w.stable() == V1
    assert w.weights() == {V1: 100}
    assert "PromotedByRequest" not in w.reasons()
