"""ModelDeploymentSpec -> azure-ai-ml batch entities, and a workspace job -> what the batch machine sees.

A revision is one ``ModelBatchDeployment`` on the model's ``BatchEndpoint``; a run is one invocation of it
(a job named by the machine, so a repeat finds the job instead of starting another); a schedule is a
``JobSchedule`` whose one-step pipeline invokes the default deployment. Pure: no client is called here.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.ai.ml import command
from azure.ai.ml.constants import AssetTypes, BatchDeploymentOutputAction
from azure.ai.ml.entities import (
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    CronTrigger,
    Environment,
    JobSchedule,
    Model,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
    PipelineJob,
    RecurrencePattern,
    RecurrenceTrigger,
)

from modeldeploy.api.azure_names import TAG_REVISION, TAG_SPEC_HASH
from modeldeploy.api.batch import BatchSchedule
from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec
from modeldeploy.backends.azureml.build import invalid, owner_tags
from modeldeploy.backends.azureml.timezones import IANA_TO_WINDOWS
from modeldeploy.ports import Owner
from modeldeploy.rollout.batch_types import JobSeen, run_name, schedule_trigger

TAG_TRIGGER = "kdap-trigger"
# A run's job properties: plain keys, since the CLI's --set reads dots and slashes as a path.
PROP_REVISION, PROP_TRIGGER, PROP_INPUT, PROP_OUTPUT = (
    "kdap_revision",
    "kdap_trigger",
    "kdap_input",
    "kdap_output",
)
# Azure ML job states (azure.ai.ml.operations._run_history_constants.JobStatus) that are an end.
_SUCCEEDED = {"completed"}
_FAILED = {"failed", "canceled", "notresponding"}
# The image of a schedule's invoking job: the Azure CLI, which installs its ml extension on first use.
INVOKER_IMAGE = "mcr.microsoft.com/azure-cli:2.67.0"


def fill(uri: str, owner: Owner, revision: str) -> str:
    for key, value in (("namespace", owner.namespace), ("name", owner.name), ("revision", revision)):
        uri = uri.replace("{" + key + "}", value)
    return uri


def output_folder(spec: ModelDeploymentSpec, owner: Owner, revision: str, run: str) -> str:
    """Where run ``run`` writes: ``{output.uri}/{run}/`` (the Kubernetes path's layout)."""
    assert spec.batch is not None
    return f"{fill(spec.batch.output.uri, owner, revision).rstrip('/')}/{run}/"


def endpoint_entity(target: AzureMLTarget, owner: Owner) -> BatchEndpoint:
    # Batch endpoints take Entra ID tokens only; the operator's identity invokes them.
    return BatchEndpoint(name=target.endpoint_name, tags=owner_tags(owner))


def _model(spec: ModelDeploymentSpec) -> str | Model:
    m = spec.model
    if m.artifact_uri is None:
        return m.registry or f"{m.name}:{m.version}"
    kind = AssetTypes.MLFLOW_MODEL if m.framework == "mlflow" else AssetTypes.CUSTOM_MODEL
    return Model(name=m.name, version=m.version, path=m.artifact_uri, type=kind)


def fingerprint(spec: ModelDeploymentSpec) -> str:
    """What a deployment is made of (the revision's serving fingerprint): a change means a new revision,
    so an existing deployment with another hash belongs to another spec and is never updated in place."""
    text = json.dumps(spec.serving_fingerprint(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def deployment_entity(
    spec: ModelDeploymentSpec, owner: Owner, revision: str, deployment: str
) -> ModelBatchDeployment:
    b, target, m = spec.batch, spec.target.azureml, spec.model
    assert b is not None  # the spec's rules: a batch model on an azureml target
    assert target is not None
    code = m.code
    if code is not None and not code.uri.startswith("azureml:"):
        raise invalid("spec.model.code.uri", f"{code.uri!r} is not an Azure ML code asset (azureml:name:ver)")
    env = m.environment
    environment: str | Environment | None = env.azureml if env else None
    if env is not None and env.image is not None:
        environment = Environment(image=env.image)
    action = (
        BatchDeploymentOutputAction.APPEND_ROW
        if b.output.action == "appendRow"
        else BatchDeploymentOutputAction.SUMMARY_ONLY
    )
    return ModelBatchDeployment(
        name=deployment,
        endpoint_name=target.endpoint_name,
        model=_model(spec),
        environment=environment,
        code_configuration=(
            CodeConfiguration(code=code.uri, scoring_script=code.scoring_script) if code else None
        ),
        compute=b.compute,
        settings=ModelBatchDeploymentSettings(
            mini_batch_size=b.mini_batch_size,
            instance_count=b.instance_count,
            output_action=action,
            output_file_name=b.output.file_name,
            retry_settings=BatchRetrySettings(
                max_retries=b.retries.max_retries, timeout=int(parse_duration(b.retries.timeout))
            ),
            # A failed mini-batch is not the job's failure: the comparison's row count and error rate judge.
            error_threshold=-1,
        ),
        tags=owner_tags(owner) | {TAG_REVISION: revision, TAG_SPEC_HASH: fingerprint(spec)},
    )


def run_properties(revision: str, trigger: str, input_uri: str, output: str) -> dict[str, str]:
    """Written on the job at invocation and read back, so a run is described by Azure alone."""
    return {PROP_REVISION: revision, PROP_TRIGGER: trigger, PROP_INPUT: input_uri, PROP_OUTPUT: output}


def schedule_name(owner: Owner, schedule: str) -> str:
    return run_name(owner.name, schedule)


def schedule_entity(
    spec: ModelDeploymentSpec, owner: Owner, revision: str, deployment: str, schedule: str
) -> JobSchedule:
    """A JobSchedule whose pipeline's one step invokes ``deployment`` on ``batch.input`` (Azure CLI, with the
    cluster's managed identity): the batch job it starts is named
    ``<schedule name>-<UTC minute>`` and carries the run's properties, so it reads back like any run."""
    b, target = spec.batch, spec.target.azureml
    assert b is not None
    assert target is not None
    assert b.input is not None  # the spec's rules: schedules need batch.input
    s = next(x for x in b.schedules if x.name == schedule)
    trigger = _trigger(s)
    name = schedule_name(owner, schedule)
    folder = fill(b.output.uri, owner, revision).rstrip("/")
    props = run_properties(revision, schedule_trigger(schedule), b.input, f"{folder}/$JOB/")
    sets = " ".join(f"--set properties.{shlex.quote(k)}={shlex.quote(v)}" for k, v in props.items())
    command_line = (
        f'JOB="{name}-$(date -u +%Y%m%d%H%M)" && az login --identity --output none && '
        f"az ml batch-endpoint invoke --subscription {target.subscription_id} "
        f"--resource-group {target.resource_group} --workspace-name {target.workspace} "
        f"--name {target.endpoint_name} --deployment-name {deployment} "
        f"--input {shlex.quote(b.input)} --input-type uri_folder "
        f'--output-path "{folder}/$JOB/" --set job_name="$JOB" {sets}'
    )
    # Schedules take pipeline jobs (a bare CommandJob is refused by JobSchedule outside private preview).
    # Not deterministic: a deterministic step would be reused from the last fire instead of invoking again.
    # No step identity: azure-ai-ml 1.35 cannot read such a schedule back (schedules.list skips it, so it
    # could never be deleted); `az login --identity` takes the cluster's managed identity without one.
    invoke = command(
        command=command_line,
        environment=Environment(image=INVOKER_IMAGE),
        compute=b.compute,
        is_deterministic=False,
        display_name=f"invoke {target.endpoint_name}/{deployment}",
    )
    job = PipelineJob(
        jobs={"invoke": invoke},
        compute=b.compute,
        display_name=f"{name} on {deployment}",
        experiment_name=target.endpoint_name,
        tags=owner_tags(owner) | {TAG_REVISION: revision},
    )
    return JobSchedule(
        name=name,
        trigger=trigger,
        create_job=job,
        tags=owner_tags(owner) | {TAG_REVISION: revision, TAG_TRIGGER: schedule_trigger(schedule)},
    )


def _trigger(s: BatchSchedule) -> CronTrigger | RecurrenceTrigger:
    """The schedule's trigger in Azure ML's terms: its IANA zone as the Windows name schedules take."""
    kind = "cron" if s.cron is not None else "recurrence"
    zone = IANA_TO_WINDOWS.get(s.time_zone)
    if zone is None:
        raise invalid(
            f"spec.batch.schedules[].{kind}.timeZone",
            f"{s.time_zone!r} has no Azure ML schedule time zone; use one of: "
            + ", ".join(sorted(IANA_TO_WINDOWS)),
        )
    if s.cron is not None:
        return CronTrigger(expression=s.cron.expression, time_zone=zone)
    r = s.recurrence
    assert r is not None
    pattern = None
    if r.hours or r.minutes or r.week_days:
        days = [d.capitalize() for d in r.week_days]  # the REST enum's spelling: Monday
        pattern = RecurrencePattern(hours=r.hours, minutes=r.minutes, week_days=days or None)
    return RecurrenceTrigger(frequency=r.frequency, interval=r.interval, schedule=pattern, time_zone=zone)


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def phase_of(status: str | None) -> RunPhase:
    state = (status or "").lower()
    if state in _SUCCEEDED:
        return RunPhase.SUCCEEDED
    if state in _FAILED:
        return RunPhase.FAILED
    return RunPhase.RUNNING


def job_seen(job: Any) -> JobSeen:
    """A workspace job as the batch machine sees it. Azure ML reports a job, not its mini-batches: a
    completed job counts as one success, a failed or canceled one as one failure."""
    props: Mapping[str, str] = getattr(job, "properties", None) or {}
    phase = phase_of(getattr(job, "status", None))
    context = getattr(job, "creation_context", None)
    created = _time(getattr(context, "created_at", None))
    finished = _time(getattr(context, "last_modified_at", None)) if phase is not RunPhase.RUNNING else None
    message = ""
    if phase is RunPhase.FAILED:
        url = getattr(job, "studio_url", None)
        message = f"Azure ML job {job.name} is {job.status}" + (f"; see {url}" if url else "")
    return JobSeen(
        name=str(job.name),
        revision=props.get(PROP_REVISION, ""),
        trigger=props.get(PROP_TRIGGER, ""),
        input=props.get(PROP_INPUT, ""),
        output=props.get(PROP_OUTPUT, "").replace("$JOB", str(job.name)),
        phase=phase,
        created_at=created,
        finished_at=finished,
        succeeded=1 if phase is RunPhase.SUCCEEDED else 0,
        failed=1 if phase is RunPhase.FAILED else 0,
        message=message,
    )
