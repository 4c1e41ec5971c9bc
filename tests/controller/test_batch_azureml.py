"""A batch model on an azureml target, reconciled end to end through the production wiring (``Backends``
picking the Azure ML batch backend) against the SDK-boundary fake workspace: the first revision becomes the
endpoint's default once provisioned, a new one is compared on the validation input beside it and becomes the
default only when the comparison passes, and deleting the object removes the endpoint and its schedules."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from modeldeploy.api.azure_names import deployment_name
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import Verdict
from modeldeploy.backends.azureml.batch import AzureMLBatchClients, default_deployment
from modeldeploy.backends.azureml.clients import AzureMLBackends
from modeldeploy.controller.batch import BatchReconciler
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.controller.wiring import Backends, BatchTeardown
from modeldeploy.ports import Owner
from modeldeploy.rollout.batch import validation_runs
from modeldeploy.rollout.batch_types import ComparisonSeen
from tests.api.batch_cases import batch_azureml
from tests.backends.azureml.batch_fakes import FakeBatchWorkspace
from tests.controller.fakes import FakeEvents, FakeStore, FixedAnalysis, NoRetraining

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@dataclass
class Verdicts:
    seen: ComparisonSeen
    compared: int = 0
    files: tuple[str, ...] = ()  # what the watched folder holds, sorted

    def compare(self, owner: Owner, spec: ModelDeploymentSpec, stable: str, candidate: str) -> ComparisonSeen:
        self.compared += 1
        return self.seen

    def arrivals(self, owner: Owner, spec: ModelDeploymentSpec, watermark: str | None) -> tuple[str, ...]:
        if watermark is None:
            return self.files[-1:]
        return tuple(f for f in self.files if f > watermark)


class World:
    def __init__(self) -> None:
        self.ws = FakeBatchWorkspace()
        clients = AzureMLBatchClients(
            self.ws.batch_endpoints, self.ws.batch_deployments, self.ws.jobs, self.ws.schedules
        )
        self.backends = Backends(dyn=object())  # type: ignore[arg-type]
        self.backends._azureml = AzureMLBackends(credential=object(), make_batch_clients=lambda t, c: clients)
        self.store, self.events = FakeStore(), FakeEvents()
        self.data = Verdicts(ComparisonSeen(Verdict.SUCCESSFUL, "predictions alike", 100, 100))
        self.now = T0
        batch = BatchReconciler(self.backends.batch, self.data, self.store, self.events, lambda: self.now)
        self.reconciler = Reconciler(
            self.backends,
            self.store,
            self.events,
            FixedAnalysis(),
            NoRetraining(),
            clock=lambda: self.now,
            batch=batch.run,
        )
        self.spec = batch_azureml()

    def body(self) -> dict[str, Any]:
        meta = {"namespace": "ml", "name": "churn", "uid": "u-1", "generation": 1}
        return {
            "metadata": {**meta, "resourceVersion": str(self.store.version)},
            "spec": copy.deepcopy(self.spec),
            "status": self.store.status.to_body(),
        }

    def reconcile(self) -> float | None:
        out = self.reconciler.reconcile(self.body())
        assert out.error is None, out.error
        self.now += timedelta(seconds=20)
        return out.requeue_after

    def until_provisioned(self) -> None:
        """Reconcile, letting Azure finish each operation, until nothing is being provisioned."""
        for _ in range(4):
            self.reconcile()
            self.ws.settle()
        self.reconcile()

    def default(self) -> str | None:
        return default_deployment(self.ws.batch_endpoints.get("propensity"))


def promoted() -> World:
    w = World()
    assert w.reconcile() == 15.0  # the endpoint is being created: looked at again in 15 s
    assert w.store.status.stable is None
    w.until_provisioned()
    stable = w.store.status.stable
    assert stable is not None
    assert w.default() == deployment_name(stable.name)
    assert set(w.ws.schedule_rest) == {"churn-monthly"}
    return w


def _candidate(w: World) -> tuple[str, str, str]:
    stable = w.store.status.stable
    assert stable is not None
    w.spec["batch"]["miniBatchSize"] = 1000
    w.until_provisioned()
    candidate = w.store.status.candidate
    assert candidate is not None
    cand_run, stable_run = validation_runs("churn", candidate.spec_hash, stable.spec_hash)
    assert {i.job_name: i.deployment for i in w.ws.invocations} == {
        cand_run: deployment_name(candidate.name),
        stable_run: deployment_name(stable.name),
    }
    assert all(i.input.path == "azureml://datastores/churn/paths/golden/" for i in w.ws.invocations)
    w.ws.finish(cand_run)
    w.ws.finish(stable_run)
    return candidate.name, stable.name, cand_run


def test_the_first_revision_is_the_default_once_its_deployment_is_provisioned() -> None:
    w = promoted()
    assert w.store.status.phase is not None
    assert w.store.status.phase.value == "Promoted"
    assert w.ws.invocations == []  # nothing to compare the first revision with


def test_a_new_revision_becomes_the_default_after_its_validation_run_compares_well() -> None:
    w = promoted()
    candidate, old, _ = _candidate(w)
    w.reconcile()
    assert w.data.compared == 1
    stable = w.store.status.stable
    assert stable is not None
    assert stable.name == candidate
    assert w.default() == deployment_name(candidate)
    assert ("propensity", deployment_name(old)) not in w.ws.deployments
    assert any(r == "Promoted" and candidate in m for _, r, m in w.events.events)


def test_a_failed_comparison_fails_the_revision_and_the_default_stays() -> None:
    w = promoted()
    w.data.seen = ComparisonSeen(Verdict.FAILED, "prediction drift: jensenShannon 0.4 above 0.1", 100, 100)
    candidate, old, _ = _candidate(w)
    w.reconcile()
    st = w.store.status
    assert st.stable is not None
    assert st.stable.name == old
    assert w.default() == deployment_name(old)
    assert [f.name for f in st.failed_revisions] == [candidate]
    assert ("propensity", deployment_name(candidate)) not in w.ws.deployments
    assert any(r == "RolledBack" and "prediction drift" in m for _, r, m in w.events.events)


def test_a_failed_validation_run_is_a_failed_revision_with_its_job_named() -> None:
    w = promoted()
    candidate, old, cand_run = _candidate(w)
    w.ws.finish(cand_run, "Failed")
    w.reconcile()
    (failed,) = w.store.status.failed_revisions
    assert failed.name == candidate
    assert f"its validation run {cand_run} failed: Azure ML job {cand_run} is Failed" in failed.message
    assert w.default() == deployment_name(old)


def test_deleting_the_object_removes_its_schedules_and_batch_endpoint() -> None:
    w = promoted()
    spec = ModelDeploymentSpec.model_validate(w.spec)
    assert isinstance(w.backends(Owner("ml", "churn", "u-1"), spec), BatchTeardown)
    assert Reconciler.needs_finalizer(w.body())
    w.reconciler.finalize(w.body())
    assert w.ws.schedule_rest == {}
    assert w.ws.endpoints == {}


def test_runs_in_flight_on_azure_are_read_every_30_seconds_not_5() -> None:
    w = promoted()
    w.spec["batch"]["miniBatchSize"] = 1000
    w.until_provisioned()
    assert len(w.ws.invocations) == 2  # both validation runs going
    assert w.reconcile() == 30.0  # ARM reads are throttled per subscription; Azure ML jobs last minutes


def test_each_file_arriving_in_the_watched_folder_is_one_batch_job_on_that_file() -> None:
    """Azure ML's documented data-arrival pattern is one invocation per new blob with the blob as a
    uri_file input; here the operator's poll (a listing of the datastore folder against a watermark in
    status) does it, a few jobs at a time, and every job is a run in status."""
    w = promoted()
    assert w.store.status.batch is not None
    assert w.store.status.batch.watermark == ""  # the first poll found the folder empty
    before = len(w.ws.invocations)
    w.data.files = ("2026-11-30.csv", "2026-12-01.csv")
    w.now += timedelta(minutes=6)
    w.reconcile()
    new = w.ws.invocations[before:]
    assert [(i.input.type, i.input.path) for i in new] == [
        ("uri_file", "azureml://datastores/churn/paths/incoming/2026-11-30.csv"),
        ("uri_file", "azureml://datastores/churn/paths/incoming/2026-12-01.csv"),
    ]
    stable = w.store.status.stable
    assert stable is not None
    assert {i.deployment for i in new} == {deployment_name(stable.name)}
    runs = {r.name: r for r in w.store.status.batch.runs if r.trigger == "dataArrival"}
    assert set(runs) == {i.job_name for i in new}
    assert sorted(r.input for r in runs.values()) == [i.input.path for i in new]  # status names the file
    assert w.store.status.batch.watermark == "2026-12-01.csv"
    w.now += timedelta(minutes=6)
    w.reconcile()  # nothing new: no job
    assert len(w.ws.invocations) == before + 2
