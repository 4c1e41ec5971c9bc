"""The pre-traffic gate: a Ready candidate is validated before any step; a wrong answer fails it at 0%."""

from __future__ import annotations

from rollout_world import World, desired

from modeldeploy.api.status import ManualAction, Phase, Verdict
from modeldeploy.rollout.actions import ValidateRevision
from modeldeploy.rollout.plan import RolloutPlan, canary_steps, shadow_steps

V1, V2, V3 = desired("v1").name, desired("v2").name, desired("v3").name


def plan(**kw: object) -> RolloutPlan:
    return RolloutPlan(steps=canary_steps((10, 50), 60), validate=True, **kw)  # type: ignore[arg-type]


def promoted_v1(p: RolloutPlan) -> World:
    w = World(plan=p)
    w.run(30)
    assert w.stable() == V1
    return w


def test_a_revision_that_answers_wrongly_fails_and_never_gets_traffic() -> None:
    w = promoted_v1(plan())
    w.invalid.add("v2")
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    failed = w.status.failed_revisions[-1]
    assert (failed.name, failed.reason) == (V2, "ValidationFailed")
    assert failed.message == "validation failed: score: $.prediction is missing"
    assert all(V2 not in split.weights and split.mirror != V2 for split in w.applied)
    assert w.weights() == {V1: 100}
    assert w.validations.count(V2) == 1, "a wrong answer fails at once, it is not retried"
    assert V2 in w.deleted


def test_a_revision_that_passes_proceeds_and_keeps_its_verdict_once_stable() -> None:
    w = promoted_v1(plan())
    w.set_model("v2")
    w.tick(10)  # created
    w.tick(10)  # Ready: validation asked for
    w.tick(0)  # the verdict read back (the reconciler does this within one reconcile): first step
    assert "ValidationPassed" in w.reasons()
    assert w.weights() == {V1: 90, V2: 10}
    w.run(300)
    assert w.stable() == V2
    assert w.status.stable is not None
    assert w.status.stable.validation is not None
    assert w.status.stable.validation.verdict is Verdict.SUCCESSFUL
    assert w.validations.count(V2) == 1, "a passed revision is never validated again"
    # Validation comes after readiness, before any step: the order of the history says so.
    reasons = [h.reason for h in w.status.history if h.revision == V2]
    assert reasons.index("RevisionReady") < reasons.index("ValidationPassed") < reasons.index("StepStarted")


def test_an_unreachable_revision_is_retried_then_fails_past_the_error_limit() -> None:
    w = promoted_v1(plan(validation_error_limit=2, readiness_poll=10.0))
    w.unreachable.add("v2")
    w.set_model("v2")
    w.run(200)
    assert w.validations.count(V2) == 3, "two errors tolerated, the third fails"
    failed = w.status.failed_revisions[-1]
    assert failed.reason == "ValidationFailed"
    assert failed.message == "validation could not reach the revision 3 times: connection refused"
    assert w.reasons().count("ValidationError") == 2
    assert w.weights() == {V1: 100}


def test_a_revision_reachable_on_a_retry_passes() -> None:
    w = promoted_v1(plan(validation_error_limit=2))
    w.unreachable.add("v2")
    w.set_model("v2")
    w.run(20)
    assert w.validations.count(V2) == 1
    assert w.candidate() == V2
    assert w.weights() == {V1: 100}
    w.unreachable.clear()
    w.run(30)
    assert "ValidationPassed" in w.reasons()
    assert V2 in w.weights()


def test_a_retry_waits_the_poll_interval_and_a_decision_asks_again_only_when_due() -> None:
    w = promoted_v1(plan(validation_error_limit=5, readiness_poll=30.0))
    w.unreachable.add("v2")
    w.set_model("v2")
    w.tick(10)
    w.tick(10)
    w.tick(0)
    assert w.validations.count(V2) == 1
    d = w.tick(10)
    assert not [a for a in d.actions if isinstance(a, ValidateRevision)], "not due yet"
    d = w.tick(20)
    # The stable revision rides along: evaluation gates send it the same rows.
    assert [a for a in d.actions if isinstance(a, ValidateRevision)] == [ValidateRevision(V2, 2, V1)]


def test_a_first_revision_failing_validation_serves_nothing() -> None:
    w = World(plan=plan())
    w.invalid.add("v1")
    w.run(60)
    assert w.status.phase is Phase.FAILED
    assert w.applied == [], "no route was ever written"
    assert w.status.failed_revisions[-1].reason == "ValidationFailed"


def test_a_shadow_candidate_gets_no_mirror_before_validation() -> None:
    p = RolloutPlan(steps=shadow_steps(20, 60), validate=True)
    w = promoted_v1(p)
    w.invalid.add("v2")
    w.set_model("v2")
    w.run(60)
    assert all(split.mirror is None for split in w.applied)
    assert w.status.failed_revisions[-1].name == V2


def test_without_validation_no_request_is_sent() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((10,), 60)))
    w.set_model("v2")
    w.run(200)
    assert w.validations == []
    assert w.stable() == V2


def test_a_promote_request_does_not_skip_validation_but_promote_full_does() -> None:
    w = promoted_v1(plan(validation_error_limit=5))
    w.unreachable.add("v2")
    w.set_model("v2")
    w.run(20)
    w.request(ManualAction.PROMOTE)
    w.tick(0)
    assert w.status.last_handled_request_result == (
        f"promote rejected: revision {V2} has not passed validation yet (promote --full skips it)"
    )
    assert w.weights() == {V1: 100}
    w.request(ManualAction.PROMOTE_FULL)
    w.tick(0)
    assert w.stable() == V2
    assert w.weights() == {V2: 100}
