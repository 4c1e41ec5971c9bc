"""The reconciler feeds a validation verdict back within one reconcile, and a validator that raises is an
Error the machine limits, never a crash of the reconcile; registry stages are recorded only once applied."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import Phase, ValidationResult, Verdict
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.ports import BackendError, Owner, ServingBackend
from modeldeploy.rollout.actions import SyncStages, ValidateRevision
from tests.backends.azureml.rig import example_spec
from tests.backends.kubernetes.specs import kubernetes_spec
from tests.controller.fakes import FakeBackend, FakeEvents, FakeStore, FixedAnalysis, NoRetraining

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CHECKS = {"healthPath": "/healthz", "errorLimit": 1}


class Validator:
    def __init__(self, verdict: Verdict | None) -> None:
        self.verdict = verdict  # None: raise
        self.asked: list[ValidateRevision] = []

    def validate(
        self, owner: Owner, spec: ModelDeploymentSpec, request: ValidateRevision, now: datetime
    ) -> ValidationResult:
        self.asked.append(request)
        if self.verdict is None:
            raise ConnectionResetError("peer reset")
        return ValidationResult(
            revision=request.revision, time=now, verdict=self.verdict, message="health: 500"
        )


def reconcile(validator: Validator, **spec_extra: Any) -> tuple[FakeStore, FakeBackend, FakeEvents]:
    backend, store, events = FakeBackend(), FakeStore(), FakeEvents()

    def backends(owner: Owner, spec: Any) -> ServingBackend:
        return backend

    r = Reconciler(
        backends, store, events, FixedAnalysis(), NoRetraining(), clock=lambda: T0, validator=validator
    )
    spec = kubernetes_spec(validation=CHECKS, **spec_extra).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    body = {
        "metadata": {"namespace": "ml", "name": "budget", "uid": "u", "resourceVersion": "1"},
        "spec": spec,
    }
    for _ in range(3):
        body["metadata"]["resourceVersion"] = str(store.version)
        body["status"] = store.status.to_body()
        r.reconcile(body)
    return store, backend, events


def test_a_passing_verdict_promotes_the_first_revision_in_the_same_reconcile() -> None:
    v = Validator(Verdict.SUCCESSFUL)
    store, backend, _ = reconcile(v)
    assert store.status.phase is Phase.PROMOTED
    assert len(v.asked) == 1
    assert store.status.stable is not None
    assert backend.traffic is not None
    assert dict(backend.traffic.weights) == {store.status.stable.name: 100}


def test_a_failing_verdict_fails_the_revision_and_writes_no_route() -> None:
    store, backend, events = reconcile(Validator(Verdict.FAILED))
    assert store.status.phase is Phase.FAILED
    assert store.status.failed_revisions[-1].message == "validation failed: health: 500"
    assert backend.traffic is None
    assert "ValidationFailed" in [reason for _, reason, _ in events.events]


def test_a_validator_that_raises_is_an_error_verdict_with_the_exception() -> None:
    v = Validator(None)
    store, backend, _ = reconcile(v)
    c = store.status.candidate
    assert c is not None
    assert c.validation is not None
    assert c.validation.verdict is Verdict.ERROR
    assert c.validation.message == "validation failed to run: ConnectionResetError: peer reset"
    assert backend.traffic is None
    assert store.status.conditions  # the reconcile itself went on: conditions written
    assert [c.status for c in store.status.conditions if c.type == "BackendHealthy"] == ["True"]


class Registry:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.synced: list[SyncStages] = []

    def sync(self, owner: Owner, spec: ModelDeploymentSpec, request: SyncStages, now: datetime) -> str:
        if self.fail:
            raise BackendError("AuthorizationFailed", "no write on models")
        self.synced.append(request)
        return "azureml:budget-optimizer:3 production"


def reconcile_stages(registry: Registry) -> tuple[FakeStore, FakeEvents, list[float | None]]:
    backend, store, events = FakeBackend(), FakeStore(), FakeEvents()
    r = Reconciler(
        lambda owner, spec: backend, store, events, FixedAnalysis(), NoRetraining(), clock=lambda: T0,
        registry=registry,
    )  # fmt: skip
    spec = example_spec("budget-optimizer").to_manifest()
    spec.pop("validation", None)  # reconciled without a validator here
    assert spec["model"]["tagStages"] is True  # as the example says
    body: dict[str, Any] = {"metadata": {"namespace": "ml", "name": "budget", "uid": "u"}, "spec": spec}
    waits = []
    for _ in range(3):
        body["metadata"]["resourceVersion"] = str(store.version)
        body["status"] = store.status.to_body()
        waits.append(r.reconcile(body).requeue_after)
    return store, events, waits


def test_stages_are_synced_and_recorded_once_the_registry_accepted_them() -> None:
    registry = Registry()
    store, events, _ = reconcile_stages(registry)
    assert store.status.stable is not None
    assert store.status.stages is not None
    assert store.status.stages.production is not None
    assert store.status.stages.production.revision == store.status.stable.name
    assert store.status.stages.production.ref == (
        "azureml://registries/kdap-prod-models/models/budget-optimizer/versions/14"
    )
    assert [s.desired for s in registry.synced][-1] == store.status.stages
    assert len(registry.synced) == 2, "staging while a candidate, production once promoted, then nothing"
    assert "StagesTagged" in [reason for _, reason, _ in events.events]


def test_a_registry_refusal_records_nothing_and_retries_within_30s() -> None:
    store, events, waits = reconcile_stages(Registry(fail=True))
    assert store.status.phase is Phase.PROMOTED, "tagging never holds the rollout"
    assert store.status.stages is None
    assert waits[-1] is not None
    assert waits[-1] <= 30
    assert any(
        reason == "StageTaggingFailed" and message.endswith("no write on models")
        for _, reason, message in events.events
    )
