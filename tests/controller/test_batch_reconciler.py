"""The batch reconciler with in-memory ports: status written before Jobs are created, manual runs checked
against the policy, failed runs counted and notified, and what each trigger costs in API requests.

The fake backend counts the requests the Kubernetes batch backend makes for each call (a LIST per read,
GET + apply for a template, GET template + POST for a Job), so the figures below are the real backend's
per-trigger cost by construction; tests/e2e/test_batch.py runs the same flows on the control plane."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import Verdict
from modeldeploy.controller.batch import BatchReconciler, next_fire
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.actions import EmitEvent
from modeldeploy.rollout.batch import validation_runs
from modeldeploy.rollout.batch_types import ComparisonSeen, JobSeen, StartRun
from tests.api.batch_cases import batch_kubernetes
from tests.controller.fakes import FakeEvents, FakeStore, FixedAnalysis, NoRetraining

T0 = datetime(2026, 11, 30, 2, 0, 30, tzinfo=UTC)


@dataclass
class CountingBatchBackend:
    templates: set[str] = field(default_factory=set)
    jobs: dict[str, JobSeen] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    started: list[StartRun] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    provisioning: int = 0  # ensure_revision calls that report "not runnable yet" (an Azure ML deployment)

    def revisions(self, owner: Owner) -> frozenset[str]:
        self.requests["list podtemplates"] += 1
        return frozenset(self.templates)

    def ensure_revision(self, owner: Owner, name: str, spec: ModelDeploymentSpec) -> bool:
        self.requests["get podtemplate"] += 1
        self.requests["apply podtemplate"] += 1
        if self.provisioning:
            self.provisioning -= 1
            return False
        self.templates.add(name)
        return True

    def delete_revision(self, owner: Owner, name: str) -> None:
        self.requests["delete podtemplate"] += 1
        self.templates.discard(name)

    def runs(self, owner: Owner) -> tuple[JobSeen, ...]:
        self.requests["list jobs"] += 1
        return tuple(self.jobs.values())

    def start_run(self, owner: Owner, spec: ModelDeploymentSpec, run: StartRun) -> None:
        self.requests["get podtemplate"] += 1
        self.requests["create job"] += 1
        self.started.append(run)
        self.jobs.setdefault(
            run.name, JobSeen(run.name, run.revision, run.trigger, run.input, "file:///o/x/")
        )

    def apply_schedules(self, owner: Owner, spec: ModelDeploymentSpec, revision: str) -> None:
        assert spec.batch is not None
        self.requests["get podtemplate"] += 1
        self.requests["apply cronjob"] += len(spec.batch.schedules)
        self.requests["list cronjobs"] += 1
        self.schedules.append(revision)


@dataclass
class FakeData:
    verdict: ComparisonSeen = field(
        default_factory=lambda: ComparisonSeen(Verdict.SUCCESSFUL, "same", 10, 10)
    )
    files: list[str] = field(default_factory=list)
    polls: int = 0

    def compare(self, owner: Owner, spec: ModelDeploymentSpec, stable: str, candidate: str) -> ComparisonSeen:
        return self.verdict

    def arrivals(self, owner: Owner, spec: ModelDeploymentSpec, watermark: str | None) -> tuple[str, ...]:
        self.polls += 1
        names = sorted(self.files)
        return tuple(names[-1:]) if watermark is None else tuple(n for n in names if n > watermark)


@dataclass
class Notified:
    events: list[EmitEvent] = field(default_factory=list)

    def notify(self, owner: Owner, spec: ModelDeploymentSpec, event: EmitEvent, now: datetime) -> int:
        self.events.append(event)
        return 1


class World:
    def __init__(self) -> None:
        self.backend = CountingBatchBackend()
        self.data = FakeData()
        self.store = FakeStore()
        self.events = FakeEvents()
        self.notified = Notified()
        self.counted: list[tuple[str, str, str, str]] = []
        self.now = T0
        self.refuse: dict[str, str] = {}
        batch = BatchReconciler(
            backend=lambda owner, spec: self.backend,
            data=self.data,
            store=self.store,
            events=self.events,
            clock=lambda: self.now,
            notifier=self.notified,
            uri_guard=lambda owner, spec, uri: self.refuse.get(uri),
            count=lambda *labels: self.counted.append(labels),
        )
        self.reconciler = Reconciler(
            lambda owner, spec: (_ for _ in ()).throw(AssertionError("no serving backend for batch")),
            self.store,
            self.events,
            FixedAnalysis(),
            NoRetraining(),
            clock=lambda: self.now,
            notifier=self.notified,
            batch=batch.run,
        )
        self.spec = batch_kubernetes()

    def reconcile(self) -> float | None:
        body = {
            "metadata": {
                "namespace": "ml",
                "name": "churn",
                "uid": "u-1",
                "generation": 1,
                "resourceVersion": str(self.store.version),
            },
            "spec": self.spec,
            "status": self.store.status.to_body(),
        }
        out = self.reconciler.reconcile(body)
        assert out.error is None, out.error
        return out.requeue_after

    def cost(self) -> tuple[int, int]:
        """(requests to the backend, status writes) of one reconcile."""
        before, writes = sum(self.backend.requests.values()), self.store.writes
        self.reconcile()
        return sum(self.backend.requests.values()) - before, self.store.writes - writes

    def request_run(self, id_: str, uri: str | None = None) -> None:
        body = self.store.status.to_body()
        batch = dict(body.get("batch") or {})
        batch["runRequest"] = {"id": id_, **({"input": uri} if uri else {})}
        self.store.status = type(self.store.status).model_validate({**body, "batch": batch})
        self.store.version += 1

    def finish(self, name: str, ok: bool = True) -> None:
        job = self.backend.jobs[name]
        phase = RunPhase.SUCCEEDED if ok else RunPhase.FAILED
        why = "" if ok else "BackoffLimitExceeded: Job has reached the specified backoff limit"
        self.backend.jobs[name] = replace(
            job, phase=phase, finished_at=self.now, succeeded=int(ok), failed=int(not ok), message=why
        )


def promoted() -> World:
    w = World()
    w.data.files = ["0000.csv"]
    w.reconcile()
    assert w.store.status.stable is not None
    return w


def test_first_revision_schedules_and_watermark_in_one_reconcile() -> None:
    w = promoted()
    st = w.store.status
    assert st.phase is not None
    assert st.phase.value == "Promoted"
    assert w.backend.schedules == [st.stable.name if st.stable else ""]
    assert st.batch is not None
    assert st.batch.schedules_applied is not None
    assert st.batch.watermark == "0000.csv"
    assert [c.type for c in st.conditions if c.type == "SpecValid"] == ["SpecValid"]
    requeue = w.reconcile()
    assert requeue is not None
    assert requeue <= 60.0  # the next data-arrival poll (pollInterval 1m)


def test_a_revision_still_provisioning_is_not_the_default_and_is_looked_at_again_soon() -> None:
    w = World()
    w.backend.provisioning = 2
    requeue = w.reconcile()
    st = w.store.status
    assert st.stable is None
    assert st.phase is not None
    assert st.phase.value == "Pending"
    assert w.backend.schedules == []  # no default to switch to, nothing scheduled on it
    assert requeue == 15.0
    w.reconcile()
    assert w.store.status.stable is None
    w.reconcile()
    assert w.store.status.stable is not None
    assert w.backend.schedules == [w.store.status.stable.name]


def test_the_status_records_a_run_before_its_job_is_created() -> None:
    w = promoted()
    w.request_run("r1")
    seen: list[int] = []
    original = w.backend.start_run

    def start(owner: Owner, spec: ModelDeploymentSpec, run: StartRun) -> None:
        runs = w.store.status.batch.runs if w.store.status.batch else []
        seen.append(sum(1 for r in runs if r.name == run.name))
        original(owner, spec, run)

    w.backend.start_run = start  # type: ignore[method-assign]
    w.reconcile()
    assert seen == [1]


def test_a_manual_input_outside_the_policy_is_refused_before_any_job() -> None:
    w = promoted()
    w.refuse["file:///etc/"] = 'spec.batch: local path "/etc" is not granted to namespace "ml"'
    w.request_run("r1", "file:///etc/")
    w.reconcile()
    assert [s for s in w.backend.started if s.trigger == "manual"] == []
    assert w.store.status.batch is not None
    assert w.store.status.batch.last_handled_run_result == (
        'refused: spec.batch: local path "/etc" is not granted to namespace "ml"'
    )
    w.request_run("r2", "s3://elsewhere/x")
    w.reconcile()
    assert w.store.status.batch.last_handled_run_result.startswith("refused: --input must be a data URI")


def test_a_failed_run_is_an_event_a_metric_and_a_notification() -> None:
    w = promoted()
    w.spec = copy.deepcopy(w.spec)
    w.spec["notifications"] = [
        {"triggers": ["RunFailed"], "to": {"kind": "slack", "secretRef": {"name": "hooks", "key": "slack"}}}
    ]
    w.request_run("r1")
    w.reconcile()
    name = next(s.name for s in w.backend.started if s.trigger == "manual")
    w.finish(name, ok=False)
    w.reconcile()
    assert ("ml", "churn", "manual", "failed") in w.counted
    warnings = [e for e in w.events.events if e[1] == "RunFailed"]
    assert len(warnings) == 1
    assert "BackoffLimitExceeded" in warnings[0][2]
    assert [e.reason for e in w.notified.events if e.reason == "RunFailed"] == ["RunFailed"]
    w.reconcile()
    assert w.counted.count(("ml", "churn", "manual", "failed")) == 1


def test_a_failed_comparison_keeps_the_default_through_the_reconciler() -> None:
    w = promoted()
    stable = w.store.status.stable
    w.data.verdict = ComparisonSeen(Verdict.FAILED, "predictions differ: jensenShannon = 0.5", 10, 10, 0.5)
    w.spec = copy.deepcopy(w.spec)
    w.spec["target"]["kubernetes"]["image"] = "ghcr.io/kdap/churn-batch:3.3.0"
    w.reconcile()
    w.reconcile()
    assert w.store.status.candidate is not None
    assert w.store.status.stable is not None
    cand, base = validation_runs("churn", w.store.status.candidate.spec_hash, w.store.status.stable.spec_hash)
    w.finish(cand)
    w.finish(base)
    w.reconcile()
    st = w.store.status
    assert st.stable == stable
    assert st.phase is not None
    assert st.phase.value == "RolledBack"
    assert st.failed_revisions[-1].message == "predictions differ: jensenShannon = 0.5"


def test_a_poll_that_cannot_read_the_folder_is_an_event_not_a_stuck_object() -> None:
    w = promoted()

    def broken(owner: Owner, spec: ModelDeploymentSpec, watermark: str | None) -> tuple[str, ...]:
        raise BackendError("DataArrivalUnreadable", "batch.dataArrival.uri: cannot list /data/in")

    w.data.arrivals = broken  # type: ignore[method-assign]
    w.now += timedelta(minutes=2)
    w.request_run("r1")
    w.reconcile()
    assert any(e[1] == "DataArrivalPollFailed" for e in w.events.events)
    assert any(s.trigger == "manual" for s in w.backend.started), "other triggers go on"


def test_next_fire_reads_each_cron_in_its_zone() -> None:
    spec = ModelDeploymentSpec.model_validate(batch_kubernetes())  # "0 2 1 * *" in Europe/Berlin
    fire = next_fire(spec, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert next_fire(spec, datetime(2026, 11, 15, 12, 0, tzinfo=UTC)) is None  # beyond 24h: the resync


def test_what_each_trigger_costs_in_api_requests() -> None:
    """Figures for the README: requests to the apiserver per reconcile of each kind (status writes apart)."""
    w = promoted()
    idle = w.cost()
    assert idle == (2, 0)  # LIST podtemplates + LIST jobs; nothing to write
    w.request_run("r1")
    manual = w.cost()
    assert manual == (4, 1)  # + GET template + POST job; one status write
    name = next(s.name for s in w.backend.started if s.trigger == "manual")
    w.finish(name)
    ended = w.cost()
    assert ended == (2, 1)
    w.data.files.append("0001.csv")
    w.now += timedelta(minutes=2)
    arrival = w.cost()
    assert arrival == (4, 1)  # + the folder listing (not an apiserver request) + GET template + POST job
    assert w.data.polls == 2
    scheduled = JobSeen(
        "churn-monthly-29410680",
        w.store.status.stable.name if w.store.status.stable else "",
        "schedule/monthly",
        created_at=w.now,
    )
    w.backend.jobs[scheduled.name] = scheduled
    recorded = w.cost()
    assert recorded == (2, 1)  # the CronJob controller created the Job: we only list and record it


def test_a_recurrence_has_no_fire_time_the_operator_computes_and_its_own_key() -> None:
    from modeldeploy.controller.batch import batch_plan
    from tests.api.batch_cases import batch_azureml

    body = batch_azureml()
    body["batch"]["schedules"] = [{"name": "hourly", "recurrence": {"frequency": "hour", "interval": 3}}]
    spec = ModelDeploymentSpec.model_validate(body)
    assert next_fire(spec, T0) is None  # Azure ML fires it; its runs are recorded when seen
    key = batch_plan(spec, T0).schedules_key
    assert key.startswith('hourly=recurrence:{"frequency":"hour","interval":3')
    body["batch"]["schedules"][0]["recurrence"]["interval"] = 4
    assert batch_plan(ModelDeploymentSpec.model_validate(body), T0).schedules_key != key


def test_cron_schedules_keep_the_key_they_had_before_recurrence_existed() -> None:
    from modeldeploy.controller.batch import batch_plan

    spec = ModelDeploymentSpec.model_validate(batch_kubernetes())
    assert batch_plan(spec, T0).schedules_key.startswith("monthly=0 2 1 * *@Europe/Berlin|")
