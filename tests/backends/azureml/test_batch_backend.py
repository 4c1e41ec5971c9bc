"""The Azure ML batch backend against the SDK-boundary fake: what it asks of a workspace, in the SDK's own
entity types, and how it reads runs back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.ai.ml.entities import BatchEndpoint, JobSchedule, PipelineJob, RecurrenceTrigger, Schedule

from modeldeploy.api.azure_names import TAG_OWNER, deployment_name
from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.azureml.batch import AzureMLBatchBackend, AzureMLBatchClients, default_deployment
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.ports import BackendError, Owner
from modeldeploy.retry import RetryPolicy
from modeldeploy.rollout.batch_types import StartRun
from tests.api.batch_cases import batch_azureml
from tests.backends.azureml.batch_fakes import FakeBatchWorkspace

OWNER = Owner("ml", "churn", "uid-1")
REV = "churn-0a1b2c3d4e"
NEXT = "churn-9f8e7d6c5b"


def _spec(**batch: object) -> ModelDeploymentSpec:
    manifest = batch_azureml()
    manifest["batch"].update(batch)
    return ModelDeploymentSpec.model_validate(manifest)


def _backend(ws: FakeBatchWorkspace, spec: ModelDeploymentSpec) -> AzureMLBatchBackend:
    clients = AzureMLBatchClients(ws.batch_endpoints, ws.batch_deployments, ws.jobs, ws.schedules)
    assert spec.target.azureml is not None
    no_wait = Guard(retry=RetryPolicy(attempts=2, base_delay=0.0, sleep=lambda _: None))
    return AzureMLBatchBackend(clients, spec.target.azureml, guard=no_wait)


def _ready(ws: FakeBatchWorkspace, backend: AzureMLBatchBackend, spec: ModelDeploymentSpec, rev: str) -> None:
    """Ensure ``rev`` until it can run, letting Azure finish each operation in between."""
    for _ in range(3):
        if backend.ensure_revision(OWNER, rev, spec):
            return
        ws.settle()
    raise AssertionError(f"{rev} never became runnable")


def test_a_revision_is_a_model_batch_deployment_on_the_endpoint_and_runs_once_provisioned() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    assert backend.ensure_revision(OWNER, REV, spec) is False  # the endpoint is being created
    assert backend.revisions(OWNER) == frozenset()
    ws.settle()
    assert backend.ensure_revision(OWNER, REV, spec) is False  # now the deployment is
    assert backend.revisions(OWNER) == frozenset()  # Creating: nothing may run it yet
    ws.settle()
    assert backend.ensure_revision(OWNER, REV, spec) is True
    assert backend.revisions(OWNER) == {REV}
    assert ws.count("batch_deployments.begin_create_or_update") == 1  # a repeat creates nothing

    rest = ws.deployments[("propensity", deployment_name(REV))]
    dep = rest.properties
    assert dep.compute == "cpu-cluster"
    assert dep.mini_batch_size == 500
    assert dep.resources.instance_count == 2
    assert dep.output_action == "AppendRow"
    assert dep.output_file_name == "predictions.csv"
    assert (dep.retry_settings.max_retries, dep.retry_settings.timeout) == (1, timedelta(hours=1))
    assert dep.error_threshold == -1
    assert rest.tags[TAG_OWNER] == "ml/churn"
    assert ws.endpoints["propensity"].tags[TAG_OWNER] == "ml/churn"


def test_a_failed_deployment_is_an_error_naming_it_not_a_retry() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    backend.ensure_revision(OWNER, REV, spec)
    ws.settle()
    backend.ensure_revision(OWNER, REV, spec)
    ws.settle("Failed")
    with pytest.raises(BackendError, match=f"batch deployment {deployment_name(REV)} is Failed") as err:
        backend.ensure_revision(OWNER, REV, spec)
    assert err.value.reason == "DeploymentProvisioningFailed"
    assert err.value.retryable is False
    assert backend.revisions(OWNER) == frozenset()


def test_someone_elses_endpoint_is_never_taken_over() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    ws.batch_endpoints.begin_create_or_update(BatchEndpoint(name="propensity", tags={TAG_OWNER: "ops/other"}))
    backend = _backend(ws, spec)
    with pytest.raises(BackendError, match="batch endpoint propensity is managed by ops/other, not ml/churn"):
        backend.ensure_revision(OWNER, REV, spec)
    assert ws.count("batch_deployments.begin_create_or_update") == 0


def test_a_run_invokes_its_revision_once_and_reads_back_from_the_job() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    run = StartRun("churn-m-1234567890", REV, "manual", "azureml://datastores/churn/paths/march/")
    backend.start_run(OWNER, spec, run)
    backend.start_run(OWNER, spec, run)  # a repeat after a crash: the job exists, nothing is invoked
    assert len(ws.invocations) == 1
    call = ws.invocations[0]
    assert call.deployment == deployment_name(REV)
    assert call.job_name == run.name
    assert call.input.path == run.input
    folder = f"azureml://datastores/batch_outputs/paths/ml/churn/{REV}/{run.name}/"
    assert call.outputs["score"].path == folder + "predictions.csv"

    (seen,) = backend.runs(OWNER)
    assert (seen.name, seen.revision, seen.trigger) == (run.name, REV, "manual")
    assert seen.input == run.input
    assert seen.output == folder
    assert seen.phase is RunPhase.RUNNING
    assert seen.created_at == ws.now

    ws.now = datetime(2026, 11, 30, 2, 30)
    ws.finish(run.name, "Failed")
    (ended,) = backend.runs(OWNER)
    assert ended.phase is RunPhase.FAILED
    assert (ended.succeeded, ended.failed) == (0, 1)
    assert ended.message == f"Azure ML job {run.name} is Failed"
    assert ended.finished_at == ws.now
    gets = ws.count("jobs.get")
    assert backend.runs(OWNER) == (ended,)
    assert ws.count("jobs.get") == gets  # an ended job never changes: not read again


def test_job_states_map_to_run_phases() -> None:
    from modeldeploy.backends.azureml.batch_build import phase_of

    assert phase_of("Completed") is RunPhase.SUCCEEDED
    for ended in ("Failed", "Canceled", "NotResponding"):
        assert phase_of(ended) is RunPhase.FAILED
    for going in ("NotStarted", "Queued", "Preparing", "Provisioning", "Running", "Finalizing", None):
        assert phase_of(going) is RunPhase.RUNNING


def test_jobs_invoked_by_someone_else_are_not_runs_of_this_model() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    from azure.ai.ml import Input

    ws.batch_endpoints.invoke(
        "propensity", deployment_name=deployment_name(REV), input=Input(type="uri_folder", path="x")
    )
    assert backend.runs(OWNER) == ()
    gets = ws.count("jobs.get")
    assert backend.runs(OWNER) == ()
    assert ws.count("jobs.get") == gets  # read once: it will never become a run


def test_jobs_gone_from_the_endpoint_are_forgotten_by_the_backend_too() -> None:
    """A schedule runs for months: what the backend remembers (ended runs, others' jobs) must follow the
    endpoint's listing, not grow with every job it ever read."""
    from azure.ai.ml import Input

    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    for _ in range(3):
        ws.batch_endpoints.invoke(
            "propensity", deployment_name=deployment_name(REV), input=Input(type="uri_folder", path="x")
        )
    assert backend.runs(OWNER) == ()
    assert len(backend._foreign) == 3
    ws.jobs_by_name.clear()  # the workspace aged them out
    assert backend.runs(OWNER) == ()
    assert backend._foreign == set()
    assert backend._ended == {}


def test_the_default_is_switched_before_the_old_deployment_is_deleted() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    backend.apply_schedules(OWNER, spec, REV)
    assert default_deployment(backend.clients.batch_endpoints.get("propensity")) == deployment_name(REV)
    newer = _spec(miniBatchSize=1000)
    _ready(ws, backend, newer, NEXT)
    backend.apply_schedules(OWNER, newer, NEXT)  # the machine's order: the default first ...
    backend.delete_revision(OWNER, REV)  # ... then the old revision (Azure refuses to delete a default)
    assert default_deployment(ws.batch_endpoints.get("propensity")) == deployment_name(NEXT)
    assert backend.revisions(OWNER) == {NEXT}
    before = ws.count("batch_endpoints.begin_create_or_update")
    backend.apply_schedules(OWNER, newer, NEXT)
    assert ws.count("batch_endpoints.begin_create_or_update") == before  # already the default: no write


def test_a_schedule_is_a_job_schedule_whose_runs_read_back_as_scheduled_runs() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    backend.apply_schedules(OWNER, spec, REV)

    stored = Schedule._from_rest_object(ws.schedule_rest["churn-monthly"])
    assert isinstance(stored, JobSchedule)
    assert stored.trigger is not None
    assert stored.trigger.expression == "0 2 1 * *"
    assert stored.trigger.time_zone == "W. Europe Standard Time"  # Europe/Berlin, as Azure names it
    assert isinstance(stored.create_job, PipelineJob)
    assert stored.create_job.compute == "cpu-cluster"
    assert stored.tags is not None
    assert stored.tags[TAG_OWNER] == "ml/churn"

    ws.now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    job = ws.fire("churn-monthly")
    assert job == "churn-monthly-202612010100"
    (seen,) = backend.runs(OWNER)
    assert (seen.name, seen.revision, seen.trigger) == (job, REV, "schedule/monthly")
    assert seen.input == "azureml://datastores/churn/paths/customers/"
    assert seen.output == f"azureml://datastores/batch_outputs/paths/ml/churn/{REV}/{job}/"
    assert ws.invocations[-1].deployment == deployment_name(REV)


def test_schedules_left_out_of_the_spec_are_deleted_and_others_are_left_alone() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    backend.apply_schedules(OWNER, spec, REV)
    theirs = _backend(ws, spec)
    other = Owner("ops", "other", "uid-2")
    from modeldeploy.backends.azureml.batch_build import schedule_entity

    ws.schedules.begin_create_or_update(schedule_entity(spec, other, REV, deployment_name(REV), "monthly"))
    assert set(ws.schedule_rest) == {"churn-monthly", "other-monthly"}
    backend.apply_schedules(OWNER, _spec(schedules=[]), REV)
    assert set(ws.schedule_rest) == {"other-monthly"}
    del theirs


def test_a_schedule_zone_azure_cannot_name_is_refused_with_the_field() -> None:
    ws = FakeBatchWorkspace()
    spec = _spec(
        schedules=[{"name": "nightly", "cron": {"expression": "0 2 * * *", "timeZone": "Africa/Lagos"}}]
    )
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    with pytest.raises(BackendError, match=r"spec.batch.schedules\[\].cron.timeZone: .*'Africa/Lagos'"):
        backend.apply_schedules(OWNER, spec, REV)


def test_delete_all_removes_the_schedules_and_the_endpoint_it_owns() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    backend.apply_schedules(OWNER, spec, REV)
    backend.delete_all(OWNER)
    assert ws.schedule_rest == {}
    assert ws.endpoints == {}
    assert ws.deployments == {}
    backend.delete_all(OWNER)  # again: nothing left, nothing fails


def test_a_recurrence_is_a_job_schedule_with_azure_mls_recurrence_trigger() -> None:
    ws = FakeBatchWorkspace()
    weekly = {
        "frequency": "week",
        "interval": 2,
        "hours": [6],
        "minutes": [30],
        "weekDays": ["monday", "thursday"],
        "timeZone": "America/New_York",
    }
    spec = _spec(schedules=[{"name": "fortnightly", "recurrence": weekly}])
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    backend.apply_schedules(OWNER, spec, REV)
    stored = Schedule._from_rest_object(ws.schedule_rest["churn-fortnightly"])
    trigger = stored.trigger
    assert isinstance(trigger, RecurrenceTrigger)
    assert (trigger.frequency, trigger.interval) == ("week", 2)
    assert trigger.time_zone == "Eastern Standard Time"
    assert trigger.schedule is not None
    assert (trigger.schedule.hours, trigger.schedule.minutes) == ([6], [30])
    assert trigger.schedule.week_days == ["Monday", "Thursday"]  # the REST enum's spelling


def test_a_job_named_like_a_run_is_one_even_without_its_properties() -> None:
    """If the service dropped the job properties, the machine's own runs are still followed by name."""
    from azure.ai.ml import Input

    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    _ready(ws, backend, spec, REV)
    ws.batch_endpoints.invoke(
        "propensity",
        deployment_name=deployment_name(REV),
        input=Input(type="uri_folder", path="x"),
        job_name="churn-m-0123456789",
    )
    ws.finish("churn-m-0123456789")
    (seen,) = backend.runs(OWNER)
    assert (seen.name, seen.phase, seen.revision) == ("churn-m-0123456789", RunPhase.SUCCEEDED, "")


def test_a_failed_endpoint_is_an_error_naming_it_and_no_deployment_is_tried() -> None:
    ws, spec = FakeBatchWorkspace(), _spec()
    backend = _backend(ws, spec)
    backend.ensure_revision(OWNER, REV, spec)
    ws.endpoints["propensity"].properties.provisioning_state = "Failed"
    with pytest.raises(BackendError, match="batch endpoint propensity is Failed; see its activity") as err:
        backend.ensure_revision(OWNER, REV, spec)
    assert (err.value.reason, err.value.retryable) == ("EndpointProvisioningFailed", False)
    assert ws.count("batch_deployments.begin_create_or_update") == 0
