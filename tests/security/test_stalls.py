"""Finding 9 (#13): silent stalls. A zero interval, an analysis that throws (a Prometheus 200 that is not
its JSON, a cap hit), an unreadable retraining Secret, a failed retraining call or an unexpected error in a
reconcile used to log and retry with nothing on the object; a failed retraining call was never retried.
Each now ends, within one reconcile, in a status condition with a reason and a message and a Kubernetes
Event, and what is retried backs off."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult, FeatureDrift, ModelDeploymentStatus, Verdict
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.controller.retraining import RETRAIN_RETRY
from modeldeploy.ports import BackendError, Owner, ServingBackend
from modeldeploy.rollout.actions import FireRetraining, RunAnalysis
from tests.backends.kubernetes.specs import kubernetes_spec
from tests.controller.fakes import FakeBackend, FakeEvents, FakeStore, FixedAnalysis, NoRetraining

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

DRIFT = {
    "interval": "1m",
    "confirmations": 1,
    "reference": {"uri": "file:///data/ref.parquet"},
    "live": {"uri": "file:///data/live.parquet"},
    "numerical": [{"name": "amount"}],
}
RETRAIN = {"type": "event", "event": {"url": "https://hooks.example.com/retrain"}}


def _spec(**extra: Any) -> dict[str, Any]:
    return kubernetes_spec(**extra).model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass
class Raising:
    """An analysis runner that throws, as the Prometheus provider did on a 200 that was not JSON."""

    error: Exception
    runs: int = 0

    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        self.runs += 1
        raise self.error

    def forget(self, uid: str) -> None:
        pass


@dataclass
class Drifting:
    """Every analysis of any revision sees the same confirmed drift."""

    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        return AnalysisResult(
            revision=request.revision,
            step_index=request.step_index,
            time=now,
            verdict=Verdict.FAILED,
            message="drift: 1 of 1 evaluated features drifted",
            drift=[FeatureDrift(feature="amount", test="wasserstein", verdict=Verdict.FAILED)],
            drift_detected=True,
            drift_id="d-amount",
            drift_verdict=Verdict.FAILED,
        )

    def forget(self, uid: str) -> None:
        pass


@dataclass
class Flaky:
    """A retraining webhook that fails ``failures`` times, then accepts."""

    failures: int
    calls: list[datetime] = field(default_factory=list)

    def fire(self, owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, now: datetime) -> str:
        self.calls.append(now)
        if len(self.calls) <= self.failures:
            raise BackendError("RetrainingEventFailed", "POST https://hooks.example.com/retrain: HTTP 503")
        return "CloudEvent 1"


class Rig:
    def __init__(self, analysis: Any = None, retraining: Any = None, backend: Any = None) -> None:
        self.backend = backend or FakeBackend()
        self.store, self.events = FakeStore(), FakeEvents()
        self.now = T0

        def backends(owner: Owner, spec: Any) -> ServingBackend:
            return self.backend  # type: ignore[no-any-return]

        self.reconciler = Reconciler(
            backends,
            self.store,
            self.events,
            analysis or FixedAnalysis(),
            retraining or NoRetraining(),
            clock=lambda: self.now,
        )

    def reconcile(self, spec: dict[str, Any], name: str = "budget") -> Any:
        body = {
            "metadata": {"namespace": "ml", "name": name, "uid": "u-1", "generation": 1,
                         "resourceVersion": str(self.store.version)},
            "spec": spec,
            "status": self.store.status.to_body(),
        }  # fmt: skip
        return self.reconciler.reconcile(body)

    def run(self, spec: dict[str, Any], seconds: float) -> ModelDeploymentStatus:
        end = self.now + timedelta(seconds=seconds)
        while self.now < end:
            out = self.reconcile(spec)
            self.now += timedelta(seconds=min(out.requeue_after or 60, 60))
        return self.store.status

    def condition(self, type_: str) -> Any:
        return next((c for c in self.store.status.conditions if c.type == type_), None)

    def reasons(self) -> list[str]:
        return [e[1] for e in self.events.events]


def test_a_zero_analysis_interval_is_a_spec_condition_not_a_loop() -> None:
    """Stored before the CRD had the bound (or on a cluster without it): the plan used to raise ValueError
    on every pass."""
    spec = _spec()
    spec["analysis"] = {"interval": "0s", "metrics": [{"name": "e", "provider": "prometheus",
                                                       "builtin": "errorRate", "max": 0.1}]}  # fmt: skip
    rig = Rig()
    out = rig.reconcile(spec)
    cond = rig.condition("SpecValid")
    assert cond.status == "False"
    assert "analysis.interval must be at least 1s and at most 1h" in cond.message
    assert "InvalidSpec" in rig.reasons()
    assert out.requeue_after is None, "nothing to retry until the spec changes"


def test_a_name_too_long_for_the_children_is_a_spec_condition() -> None:
    rig = Rig()
    rig.reconcile(_spec(), name="m" * 64)
    cond = rig.condition("SpecValid")
    assert cond.status == "False"
    assert "metadata.name must be at most 63 characters" in cond.message
    assert rig.backend.calls == []


def test_an_analysis_that_throws_is_a_condition_and_an_event_within_one_interval() -> None:
    bad_json = ValueError("Expecting value: line 1 column 1 (char 0)")
    rig = Rig(analysis=Raising(bad_json))
    spec = _spec(analysis={"drift": DRIFT})
    rig.run(spec, 150)  # promoted, then one monitoring interval (1m)
    cond = rig.condition("AnalysisHealthy")
    assert cond is not None, "no condition: the failure was only logged"
    assert cond.status == "False"
    assert cond.reason == "AnalysisError"
    assert "ValueError: Expecting value" in cond.message
    assert rig.reasons().count("AnalysisError") == 1, "one Event for the streak, not one per retry"


def test_a_stable_revisions_failing_analysis_backs_off() -> None:
    analysis = Raising(RuntimeError("prometheus said no"))
    rig = Rig(analysis=analysis)
    rig.run(_spec(analysis={"drift": DRIFT}), 3600)
    # Every minute for an hour was 59 runs; doubling from 1m: 1, 2, 4, 8, 16, 32 minutes.
    assert 4 <= analysis.runs <= 7, analysis.runs


def test_a_failed_retraining_call_is_retried_with_backoff_then_delivered() -> None:
    webhook = Flaky(failures=2)
    rig = Rig(analysis=Drifting(), retraining=webhook)
    spec = _spec(analysis={"drift": DRIFT}, rollback={"retrain": RETRAIN})
    rig.run(spec, 150)
    assert len(webhook.calls) == 1
    trigger = rig.store.status.retraining
    assert trigger is not None
    assert not trigger.delivered
    assert trigger.attempts == 1
    assert "HTTP 503" in trigger.last_error
    cond = rig.condition("RetrainingDelivered")
    assert cond.status == "False"
    assert cond.reason == "RetrainingFailed"
    assert "RetrainingFailed" in rig.reasons()
    rig.run(spec, 600)
    assert len(webhook.calls) == 3, "retried until it went through"
    gaps = [(b - a).total_seconds() for a, b in zip(webhook.calls, webhook.calls[1:], strict=False)]
    assert gaps[1] > gaps[0] >= RETRAIN_RETRY.base_delay, f"backs off: {gaps}"
    trigger = rig.store.status.retraining
    assert trigger is not None
    assert trigger.delivered
    assert rig.condition("RetrainingDelivered").status == "True"


def test_retraining_gives_up_after_its_last_attempt_and_says_so() -> None:
    webhook = Flaky(failures=100)
    rig = Rig(analysis=Drifting(), retraining=webhook)
    rig.run(_spec(analysis={"drift": DRIFT}, rollback={"retrain": RETRAIN}), 6 * 3600)
    assert len(webhook.calls) == RETRAIN_RETRY.attempts
    cond = rig.condition("RetrainingDelivered")
    assert cond.status == "False"
    assert cond.message.startswith(f"gave up after {RETRAIN_RETRY.attempts} failed attempt(s)")


def test_an_unreadable_retraining_secret_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes.client.exceptions import ApiException

    from modeldeploy.controller import retraining

    class Forbidden:
        def __init__(self, api: Any) -> None:
            pass

        def read_namespaced_secret(self, name: str, namespace: str) -> Any:
            raise ApiException(status=403, reason="Forbidden")

    monkeypatch.setattr(retraining.client, "CoreV1Api", Forbidden)
    rig = Rig(analysis=Drifting(), retraining=retraining.DefaultRetrainer(api=object()))  # type: ignore[arg-type]
    retrain = {"type": "event", "event": {"url": "https://hooks.example.com/r", "secretRef": "hook-token"}}
    rig.run(_spec(analysis={"drift": DRIFT}, rollback={"retrain": retrain}), 150)
    cond = rig.condition("RetrainingDelivered")
    assert cond.status == "False"
    assert (
        "cannot read Secret ml/hook-token (rollback.retrain.event.secretRef): HTTP 403 Forbidden"
        in cond.message
    )


def test_an_unexpected_error_in_a_reconcile_is_a_condition_an_event_and_a_backoff() -> None:
    class Broken(FakeBackend):
        def observed_traffic(self, owner: Owner) -> Any:
            raise KeyError("weights")  # e.g. a foreign object's shape nobody foresaw

    rig = Rig(backend=Broken())
    outs = [rig.reconcile(_spec()) for _ in range(3)]
    cond = rig.condition("BackendHealthy")
    assert cond.status == "False"
    assert cond.reason == "ReconcileError"
    assert "KeyError" in cond.message
    assert "ReconcileError" in rig.reasons()
    delays = [o.requeue_after for o in outs]
    assert delays == sorted(delays)
    assert delays[-1] > delays[0], f"backs off: {delays}"
