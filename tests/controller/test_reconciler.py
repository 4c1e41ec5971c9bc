"""The reconciler's own duties, with in-memory ports: order, compare-and-swap, errors as conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modeldeploy.api.status import ModelDeploymentStatus, Verdict
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.ports import BackendError, Conflict, Owner, ServingBackend
from modeldeploy.rollout.actions import EventType
from tests.backends.kubernetes.specs import kubernetes_spec
from tests.controller.fakes import FakeBackend, FakeEvents, FakeStore, FixedAnalysis, NoRetraining

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class World:
    def __init__(self, verdict: Verdict = Verdict.SUCCESSFUL) -> None:
        self.backend = FakeBackend()
        self.store = FakeStore()
        self.events = FakeEvents()
        self.analysis = FixedAnalysis(verdict)
        self.now = T0

        def backends(owner: Owner, spec: Any) -> ServingBackend:
            return self.backend

        self.reconciler = Reconciler(
            backends, self.store, self.events, self.analysis, NoRetraining(), clock=lambda: self.now
        )

    def body(self, spec: dict[str, Any], generation: int = 1) -> dict[str, Any]:
        return {
            "metadata": {
                "namespace": "ml",
                "name": "budget",
                "uid": "u-1",
                "generation": generation,
                "resourceVersion": str(self.store.version),
            },
            "spec": spec,
            "status": self.store.status.to_body(),
        }

    def settle(self, spec: dict[str, Any], generation: int = 1, rounds: int = 12) -> ModelDeploymentStatus:
        for _ in range(rounds):
            out = self.reconciler.reconcile(self.body(spec, generation))
            self.now += timedelta(seconds=out.requeue_after or 1)
        return self.store.status


def _spec(version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    spec = kubernetes_spec(image=f"registry.example/scorer:{version}", **extra)
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


ANALYSED = {
    "strategy": {"type": "canary", "canary": {"steps": [{"weight": 10, "analysis": True}, {"weight": 100}]}},
    "analysis": {
        "interval": "30s",
        "metrics": [{"name": "errors", "provider": "prometheus", "builtin": "errorRate", "max": 0.05}],
    },
}


def test_first_revision_then_an_analysed_canary_is_promoted() -> None:
    w = World()
    first = w.settle(_spec())
    assert first.phase == "Promoted"
    assert first.stable is not None
    second = w.settle(_spec("2.0.0", **ANALYSED), generation=2)
    assert second.phase == "Promoted"
    assert second.stable is not None
    assert second.stable.name != first.stable.name
    assert w.analysis.runs
    assert w.analysis.runs[0].revision == second.stable.name
    assert w.backend.traffic is not None
    assert dict(w.backend.traffic.weights) == {second.stable.name: 100}


def test_failed_analysis_is_recorded_before_traffic_moves_back() -> None:
    w = World(Verdict.FAILED)
    stable = w.settle(_spec()).stable
    assert stable is not None
    status = w.settle(_spec("2.0.0", **ANALYSED), generation=2)
    assert status.phase == "RolledBack"
    assert w.backend.traffic is not None
    assert dict(w.backend.traffic.weights) == {stable.name: 100}
    assert any(reason == "AnalysisFailed" or "failed" in msg for _, reason, msg in w.events.events)
    # the failure is in the stored status, so no later decision routes to it
    assert status.failed_revisions
    assert status.failed_revisions[0].name != stable.name


def test_backend_error_becomes_a_condition_with_backoff_and_clears() -> None:
    w = World()
    w.backend.fail_with = BackendError("QuotaExceeded", "no cores left in westeurope", retryable=True)
    out = w.reconciler.reconcile(w.body(_spec()))
    assert out.requeue_after == 5.0
    cond = next(c for c in w.store.status.conditions if c.type == "BackendHealthy")
    assert (cond.status, cond.reason, cond.message) == (
        "False",
        "QuotaExceeded",
        "no cores left in westeurope",
    )
    assert (EventType.WARNING, "QuotaExceeded", "no cores left in westeurope") in w.events.events
    again = w.reconciler.reconcile(w.body(_spec()))
    assert again.requeue_after == 10.0  # backoff grows
    w.backend.fail_with = None
    healthy = w.settle(_spec())
    cond = next(c for c in healthy.conditions if c.type == "BackendHealthy")
    assert cond.status == "True"
    assert healthy.phase == "Promoted"


def test_permanent_backend_error_is_not_requeued() -> None:
    w = World()
    w.backend.fail_with = BackendError("WrongTarget", "bad", retryable=False)
    assert w.reconciler.reconcile(w.body(_spec())).requeue_after is None


def test_a_concurrent_writer_costs_a_retry_not_a_lost_update() -> None:
    w = World()
    body = w.body(_spec())
    w.store.version += 1  # someone wrote after we read
    with pytest.raises(Conflict):
        w.reconciler.reconcile(body)
    assert w.store.writes == 0
    assert w.backend.calls == []  # nothing touched the world before the status was stored


def test_an_invalid_spec_is_a_condition_naming_the_field() -> None:
    w = World()
    spec = _spec()
    spec["strategy"] = {"type": "canary", "canary": {"steps": [{"weight": 50}, {"weight": 20}]}}
    out = w.reconciler.reconcile(w.body(spec))
    cond = next(c for c in out.status.conditions if c.type == "SpecValid")
    assert cond.status == "False"
    assert cond.reason == "InvalidSpec"
    assert "strategy.canary.steps weights must strictly increase and end at 100" in cond.message
    assert w.backend.calls == []
    assert out.requeue_after is None


def test_a_steady_state_pass_confirms_its_view_before_touching_the_world() -> None:
    """A promoted object's resync changes no status, so no compare-and-swap guards its re-applied traffic;
    a stale view (a newer writer, or this replica's watch cut off) must then do nothing."""
    w = World()
    assert w.settle(_spec()).phase == "Promoted"
    w.backend.traffic = None  # the world drifted: the route lost its weights
    stale = w.body(_spec())
    w.store.version += 1  # a newer replica wrote after this view was taken
    w.backend.calls.clear()
    with pytest.raises(Conflict, match=r"stale resourceVersion"):
        w.reconciler.reconcile(stale)
    assert w.backend.calls == []
    assert w.store.confirms == 1

    out = w.reconciler.reconcile(w.body(_spec()))  # a current view re-applies the weights
    assert "SetTraffic" in out.actions_run
    assert w.backend.traffic is not None
    assert w.store.confirms == 2


def test_a_pass_that_writes_the_status_needs_no_extra_read() -> None:
    w = World()
    out = w.reconciler.reconcile(w.body(_spec()))
    assert "EnsureRevision" in out.actions_run
    assert w.store.writes >= 1
    assert w.store.confirms == 0


def test_a_retired_revision_leaves_the_status_in_the_pass_that_deletes_it() -> None:
    """Before, the entry stayed in status.retiredRevisions until the next resync (minutes), though the
    Deployment was gone: a bench waiting for "nothing left to do" waited five minutes."""
    w = World()
    first = w.settle(_spec())
    assert first.stable is not None
    old = first.stable.name
    for _ in range(40):
        before = len(w.backend.calls)
        out = w.reconciler.reconcile(w.body(_spec("2.0.0"), 2))
        w.now += timedelta(seconds=out.requeue_after or 1)
        if f"delete {old}" in w.backend.calls[before:]:
            assert w.store.status.retired_revisions == []  # in the same reconcile that deleted it
            return
    pytest.fail(f"{old} was never deleted")
