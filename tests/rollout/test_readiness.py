"""Ready / Reconciling / Stalled and observedGeneration for every phase, read the way kstatus reads them.

``kstatus_of`` applies kstatus' documented order to a stored object (Flux's health checks and ``kubectl
wait`` use that library): a generation not yet observed is InProgress, ``Reconciling=True`` InProgress,
``Stalled=True`` Failed, then ``Ready``. The e2e test (tests/e2e/test_gitops_flux.py) checks the same
verdicts through Flux's real kustomize-controller.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rollout_world import T0, World

from modeldeploy.api.status import ConditionStatus, ManualAction, ModelDeploymentStatus, Phase, Verdict
from modeldeploy.controller.messages import with_condition
from modeldeploy.rollout.plan import RolloutPlan, Step, canary_steps
from modeldeploy.rollout.readiness import summary
from tests.deploy.argocd_health import argocd_health, as_object

PLAN = RolloutPlan(steps=canary_steps((20, 50), 60))
GATED = RolloutPlan(steps=(Step(20, duration=None), Step(100, duration=1)))


def kstatus_of(status: ModelDeploymentStatus, generation: int) -> tuple[str, str]:
    """(kstatus verdict, the reason that decided) for an object at ``generation`` with ``status``."""
    body: dict[str, Any] = status.to_body()
    if body.get("observedGeneration") is not None and body["observedGeneration"] != generation:
        return "InProgress", "LatestGenerationNotObserved"
    conditions = {c["type"]: c for c in body.get("conditions", [])}
    for type_, verdict in (("Reconciling", "InProgress"), ("Stalled", "Failed")):
        c = conditions.get(type_)
        if c is not None and c["status"] == "True":
            return verdict, c["reason"]
    ready = conditions.get("Ready")
    if ready is None:
        return "Current", "no Ready condition"
    return ("Current" if ready["status"] == "True" else "InProgress"), ready["reason"]


def promoted_v1(plan: RolloutPlan = PLAN) -> World:
    w = World(plan=plan)
    w.tick()
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    return w


def cond(w: World, type_: str) -> tuple[ConditionStatus, str]:
    c = next(c for c in w.status.conditions if c.type == type_)
    assert c.observed_generation == w.generation
    return c.status, c.reason


def verdict(w: World) -> tuple[str, str]:
    return kstatus_of(w.status, w.generation)


def argo(w: World) -> str:
    """Argo CD's verdict (deploy/argocd/health.lua) on the same stored object."""
    return argocd_health(as_object(w.status.to_body(), w.generation))[0]


def test_pending_first_revision_is_in_progress() -> None:
    w = World(plan=PLAN)
    w.slow.add("v1")
    w.tick()
    assert w.status.phase is Phase.PENDING
    assert verdict(w) == ("InProgress", "Pending")
    assert argo(w) == "Progressing"
    assert cond(w, "Ready") == (ConditionStatus.FALSE, "Pending")
    assert cond(w, "Stalled") == (ConditionStatus.FALSE, "Pending")


def test_promoted_is_ready_with_the_serving_sentence() -> None:
    w = promoted_v1()
    assert verdict(w) == ("Current", "Promoted")
    assert argo(w) == "Healthy"
    ready = next(c for c in w.status.conditions if c.type == "Ready")
    assert ready.status is ConditionStatus.TRUE
    assert ready.message == w.status.message
    assert "serves 100% of traffic" in ready.message
    assert cond(w, "Reconciling")[0] is ConditionStatus.FALSE
    assert w.status.observed_generation == w.generation


def test_a_new_generation_is_in_progress_until_the_operator_observes_it() -> None:
    w = promoted_v1()
    w.set_model("v2")  # Git changed the spec: generation 2, status still says 1
    assert verdict(w) == ("InProgress", "LatestGenerationNotObserved")
    assert argo(w) == "Progressing"  # not Healthy on the previous revision's status
    w.tick(1)
    assert w.status.observed_generation == 2
    assert w.status.phase is Phase.PROGRESSING
    assert verdict(w) == ("InProgress", "Progressing")


def test_progressing_then_promoted() -> None:
    w = promoted_v1()
    w.set_model("v2")
    w.tick(1)
    w.tick(1)
    assert w.status.current_step_index == 0
    assert verdict(w) == ("InProgress", "Progressing")
    assert argo(w) == "Progressing"
    w.run(200)
    assert w.status.phase is Phase.PROMOTED
    assert verdict(w) == ("Current", "Promoted")
    ready = next(c for c in w.status.conditions if c.type == "Ready")
    assert ready.last_transition_time is not None
    assert ready.last_transition_time > T0


def test_a_gate_waiting_for_promote_is_in_progress_not_failed() -> None:
    w = promoted_v1(GATED)
    w.set_model("v2")
    w.run(60)
    assert w.status.phase is Phase.PAUSED
    assert verdict(w) == ("InProgress", "Paused")
    assert argo(w) == "Suspended"
    w.request(ManualAction.PROMOTE)
    w.run(30)
    assert w.status.phase is Phase.PROMOTED
    assert verdict(w) == ("Current", "Promoted")


def test_a_manual_pause_is_in_progress() -> None:
    w = promoted_v1()
    w.set_model("v2")
    w.tick(1)
    w.request(ManualAction.PAUSE)
    w.tick(1)
    assert w.status.phase is Phase.PAUSED
    assert verdict(w) == ("InProgress", "Paused")


@pytest.mark.parametrize(("drift", "reason"), [(False, "AnalysisFailed"), (True, "DriftDetected")])
def test_rolled_back_is_stalled_with_the_failure_reason(drift: bool, reason: str) -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((20, 50), 60), analysis_interval=10))
    if drift:
        w.drift.add("v2")
    else:
        w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(120)
    assert w.status.phase is Phase.ROLLED_BACK
    failed = next(f for f in w.status.failed_revisions if f.name == w.desired.name)
    assert failed.reason == reason
    assert verdict(w) == ("Failed", reason)
    health, message = argocd_health(as_object(w.status.to_body(), w.generation))
    assert health == "Degraded"
    assert message.startswith(f"RolledBack ({reason}): Git holds revision")
    assert cond(w, "Ready") == (ConditionStatus.FALSE, "RolledBack")
    assert cond(w, "Reconciling")[0] is ConditionStatus.FALSE
    stalled = next(c for c in w.status.conditions if c.type == "Stalled")
    assert "Git holds revision" in stalled.message
    assert "Change the spec or request a retry" in stalled.message


def test_aborted_by_hand_is_stalled_as_degraded() -> None:
    w = promoted_v1()
    w.set_model("v2")
    w.tick(1)
    w.tick(1)
    w.request(ManualAction.ABORT)
    w.tick(1)
    assert w.status.phase is Phase.DEGRADED
    assert verdict(w) == ("Failed", "Aborted")
    assert argo(w) == "Degraded"
    assert cond(w, "Ready") == (ConditionStatus.FALSE, "Degraded")


def test_a_first_revision_that_fails_is_stalled() -> None:
    w = World(plan=PLAN)
    w.broken.add("v1")
    w.tick()
    w.tick(10)
    assert w.status.phase is Phase.FAILED
    status, reason = verdict(w)
    assert status == "Failed"
    assert reason == next(f.reason for f in w.status.failed_revisions)
    assert cond(w, "Ready") == (ConditionStatus.FALSE, "Failed")


def test_a_revert_after_a_rollback_is_ready_again() -> None:
    w = promoted_v1(RolloutPlan(steps=canary_steps((20, 50), 60), analysis_interval=10))
    w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(120)
    assert verdict(w)[0] == "Failed"
    w.set_model("v1")
    w.tick(1)
    assert w.status.phase is Phase.PROMOTED
    assert verdict(w) == ("Current", "Promoted")
    assert cond(w, "Stalled")[0] is ConditionStatus.FALSE


def test_every_phase_is_covered_by_exactly_one_kstatus_verdict() -> None:
    expected = {
        Phase.PENDING: "InProgress",
        Phase.PROGRESSING: "InProgress",
        Phase.PAUSED: "InProgress",
        Phase.PROMOTED: "Current",
        Phase.ROLLED_BACK: "Failed",
        Phase.DEGRADED: "Failed",
        Phase.FAILED: "Failed",
    }
    assert set(expected) == set(Phase)
    for phase, want in expected.items():
        status = ModelDeploymentStatus(phase=phase, observed_generation=3, message=f"{phase} now")
        ready, reconciling, stalled = summary(status, 3)
        got = kstatus_of(status.model_copy(update={"conditions": [ready, reconciling, stalled]}), 3)
        assert got[0] == want, phase
        assert (ready.status is ConditionStatus.TRUE) == (want == "Current"), phase
        assert ready.message == f"{phase} now"


# ---- conditions the reconciler owns ------------------------------------------------------------------------


def test_a_refused_spec_is_stalled_even_when_an_older_revision_was_promoted() -> None:
    w = promoted_v1()
    refused = with_condition(
        w.status,
        "SpecValid",
        ConditionStatus.FALSE,
        "PolicyDenied",
        'spec.analysis.drift.reference.uri: storage account "evil" is not granted',
        2,
        T0 + timedelta(minutes=5),
    ).model_copy(update={"observed_generation": 2})
    assert kstatus_of(refused, 2) == ("Failed", "PolicyDenied")
    ready = next(c for c in refused.conditions if c.type == "Ready")
    assert ready.status is ConditionStatus.FALSE
    assert "not granted" in ready.message
    # the spec is fixed: SpecValid is True again and the machine's verdict stands
    fixed = with_condition(refused, "SpecValid", ConditionStatus.TRUE, "Valid", "", 2, T0)
    assert kstatus_of(fixed, 2) == ("Current", "Promoted")


def test_a_backend_error_makes_a_promoted_object_not_ready_but_still_reconciling() -> None:
    w = promoted_v1()
    broken = with_condition(
        w.status, "BackendHealthy", ConditionStatus.FALSE, "Throttled", "429 from the API", 1, T0
    )
    assert kstatus_of(broken, 1) == ("InProgress", "Promoted")
    ready = next(c for c in broken.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == (ConditionStatus.FALSE, "Throttled")
    assert ready.message == "Throttled: 429 from the API"
    healed = with_condition(broken, "BackendHealthy", ConditionStatus.TRUE, "Reachable", "", 1, T0)
    assert kstatus_of(healed, 1) == ("Current", "Promoted")


def test_a_machine_pass_ignores_a_refusal_left_from_an_earlier_generation() -> None:
    w = promoted_v1()
    w.status = with_condition(
        w.status, "SpecValid", ConditionStatus.FALSE, "InvalidSpec", "spec.model: bad", 1, T0
    )
    assert verdict(w) == ("Failed", "InvalidSpec")
    w.set_model("v2")  # the fixed spec: the reconciler only runs the machine on a valid one
    w.tick(1)
    assert verdict(w) == ("InProgress", "Progressing")
