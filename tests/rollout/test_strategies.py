"""Shadow (mirror, compare, promote or discard) and blue-green (preview, analyse, switch)."""

from __future__ import annotations

from rollout_world import World, desired

from modeldeploy.api.status import ManualAction, Phase, Verdict
from modeldeploy.rollout.plan import RolloutPlan, Step, blue_green_steps, shadow_steps

V1, V2 = desired("v1").name, desired("v2").name


def started(plan: RolloutPlan) -> World:
    w = World(plan=plan)
    w.tick()
    w.tick(10)
    w.set_model("v2")
    return w


def test_shadow_mirrors_to_a_candidate_without_live_traffic_then_promotes() -> None:
    w = started(RolloutPlan(steps=shadow_steps(20, 120)))
    w.run(60)
    assert w.traffic is not None
    assert dict(w.traffic.weights) == {V1: 100}
    assert (w.traffic.mirror, w.traffic.mirror_percent) == (V2, 20)
    assert "and a 20% mirror" in w.status.message
    w.run(120)
    assert w.status.phase is Phase.PROMOTED
    assert dict(w.traffic.weights) == {V2: 100}
    assert w.traffic.mirror is None


def test_shadow_with_failed_comparison_discards_the_candidate() -> None:
    w = started(RolloutPlan(steps=shadow_steps(20, 120)))
    w.verdicts["v2"] = Verdict.FAILED
    w.run(200)
    assert w.status.phase is Phase.ROLLED_BACK
    assert w.mirror() is None
    assert all(dict(s.weights).get(V2, 0) == 0 for s in w.applied), "a shadow never served live traffic"
    assert V2 in w.deleted


def test_shadow_with_manual_promotion_waits_at_a_gate_while_still_mirroring() -> None:
    steps = (*shadow_steps(20, 120), Step(0, mirror_percent=20, duration=None, analysis=True))
    w = started(RolloutPlan(steps=steps))
    w.run(300)
    assert w.status.phase is Phase.PAUSED
    assert w.status.message.startswith("waiting at step 2/2 for promote")
    assert w.mirror() == V2
    w.request(ManualAction.PROMOTE)
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED


def test_blue_green_previews_without_traffic_then_switches_at_once() -> None:
    w = started(RolloutPlan(steps=blue_green_steps(300), scale_down_delay=120))
    w.run(200)
    assert w.status.phase is Phase.PROGRESSING
    assert w.weights() == {V1: 100}
    assert w.analyses >= 1, "the preview is analysed"
    w.run(200)
    assert w.status.phase is Phase.PROMOTED
    assert [dict(s.weights) for s in w.applied] == [{V1: 100}, {V2: 100}], "one switch, no steps between"
    assert V1 not in w.deleted, "the old colour stays up for the scale-down delay"
    w.run(130)
    assert V1 in w.deleted


def test_blue_green_preview_failure_never_switches() -> None:
    w = started(RolloutPlan(steps=blue_green_steps(300)))
    w.verdicts["v2"] = Verdict.FAILED
    w.run(400)
    assert w.status.phase is Phase.ROLLED_BACK
    assert all(V2 not in s.weights for s in w.applied)
