"""Ready / Reconciling / Stalled through the real reconciler, whose own conditions (SpecValid,
BackendHealthy) are written outside the rollout machine: every write leaves the three consistent."""

from __future__ import annotations

from modeldeploy.api.status import ModelDeploymentStatus, Verdict
from modeldeploy.ports import BackendError
from tests.controller.test_reconciler import ANALYSED, World, _spec


def kstatus(status: ModelDeploymentStatus) -> dict[str, tuple[str, str]]:
    return {
        c.type: (c.status.value, c.reason)
        for c in status.conditions
        if c.type in ("Ready", "Reconciling", "Stalled")
    }


def test_promoted_then_rolled_back_then_refused_then_fixed() -> None:
    w = World(Verdict.FAILED)
    first = w.settle(_spec())
    assert kstatus(first) == {
        "Ready": ("True", "Promoted"),
        "Reconciling": ("False", "Promoted"),
        "Stalled": ("False", "Promoted"),
    }
    rolled = w.settle(_spec("2.0.0", **ANALYSED), generation=2)
    assert rolled.phase == "RolledBack"
    assert kstatus(rolled) == {
        "Ready": ("False", "RolledBack"),
        "Reconciling": ("False", "RolledBack"),
        "Stalled": ("True", "AnalysisFailed"),
    }
    assert rolled.observed_generation == 2
    bad = _spec("3.0.0")
    bad["strategy"] = {"type": "canary", "canary": {"steps": [{"weight": 50}, {"weight": 20}]}}
    refused = w.reconciler.reconcile(w.body(bad, generation=3)).status
    assert refused.observed_generation == 3
    assert kstatus(refused)["Stalled"] == ("True", "InvalidSpec")
    ready = next(c for c in refused.conditions if c.type == "Ready")
    assert "strategy.canary.steps weights must strictly increase" in ready.message
    fixed = w.settle(_spec("1.0.0"), generation=4)  # back to what stable serves
    assert fixed.phase == "Promoted"
    assert kstatus(fixed)["Ready"] == ("True", "Promoted")
    assert kstatus(fixed)["Stalled"] == ("False", "Promoted")


def test_a_backend_error_is_not_ready_but_reconciling_until_it_clears() -> None:
    w = World()
    w.backend.fail_with = BackendError("QuotaExceeded", "no cores left in westeurope", retryable=True)
    w.reconciler.reconcile(w.body(_spec()))
    assert kstatus(w.store.status) == {
        "Ready": ("False", "QuotaExceeded"),
        "Reconciling": ("True", "Pending"),
        "Stalled": ("False", "Pending"),
    }
    ready = next(c for c in w.store.status.conditions if c.type == "Ready")
    assert ready.message == "QuotaExceeded: no cores left in westeurope"
    w.backend.fail_with = None
    assert kstatus(w.settle(_spec()))["Ready"] == ("True", "Promoted")
