"""An in-memory Azure ML workspace's batch side, at the SDK boundary: batch endpoints and deployments, jobs
and schedules.

Like ``fakes.py`` it takes and returns the SDK's own entity types and keeps what the SDK would send (the REST
objects from the entities' own serialisers: ``BatchEndpoint``, ``ModelBatchDeployment``, ``JobSchedule``),
reading them back through the SDK's ``_from_rest_object`` as ``get`` does. The service's rules that the
backend relies on are enforced with Azure's error shapes: a default deployment must exist and cannot be
deleted, a deployment is created on a provisioned endpoint only, a job name is used once, an invocation
names a provisioned deployment. Provisioning and job ends are explicit (``settle``, ``finish``); ``fire``
runs a schedule's step the way Azure ML would run its command, so what the command carries is checked.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from azure.ai.ml import Input, Output
from azure.ai.ml.entities import (
    BatchDeployment,
    BatchEndpoint,
    BatchJob,
    JobSchedule,
    ModelBatchDeployment,
    PipelineJob,
    Schedule,
)
from azure.ai.ml.entities._system_data import SystemData

from tests.backends.azureml.fakes import Faults, check_arm_tags, http_error

_ARM = "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.MachineLearningServices/workspaces/{w}"


@dataclass(frozen=True)
class Done:
    """``LROPoller`` of an operation the fake applies at once (its provisioning state says the rest)."""

    value: Any = None

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None) -> Any:
        return self.value


@dataclass
class Invocation:
    """What one ``invoke`` asked for, as the SDK received it."""

    endpoint: str
    deployment: str | None
    job_name: str
    input: Input
    outputs: dict[str, Output]
    properties: dict[str, str]


@dataclass
class FakeBatchWorkspace:
    subscription: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "rg-kdap"
    workspace: str = "mlw-kdap"
    location: str = "westeurope"
    now: datetime = datetime(2026, 11, 30, 2, 0)
    endpoints: dict[str, Any] = field(default_factory=dict)  # name -> REST BatchEndpoint data
    deployments: dict[tuple[str, str], Any] = field(default_factory=dict)  # REST BatchDeployment data
    schedule_rest: dict[str, Any] = field(default_factory=dict)  # name -> REST Schedule
    jobs_by_name: dict[str, PipelineJob] = field(default_factory=dict)
    job_endpoint: dict[str, str] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.batch_endpoints = FakeBatchEndpoints(self)
        self.batch_deployments = FakeBatchDeployments(self)
        self.jobs = FakeJobs(self)
        self.schedules = FakeSchedules(self)

    # --- test controls -------------------------------------------------------------------------------
    def hit(self, operation: str) -> None:
        self.calls.append(operation)
        queue = self.faults.queued[operation]
        if queue:
            raise queue.popleft()

    def count(self, operation: str) -> int:
        return self.calls.count(operation)

    def settle(self, state: str = "Succeeded") -> None:
        """Every endpoint and deployment operation ends (``state`` for the deployments)."""
        for rest in self.endpoints.values():
            rest.properties.provisioning_state = "Succeeded"
        for rest in self.deployments.values():
            rest.properties.provisioning_state = state

    def finish(self, job: str, status: str = "Completed") -> None:
        entity = self.jobs_by_name[job]
        entity._status = status
        context = entity.creation_context
        assert context is not None
        context.last_modified_at = self.now

    def fire(self, schedule: str) -> str:
        """Run a schedule's step as Azure ML would: read its ``az ml batch-endpoint invoke`` back from the
        stored schedule and invoke what it names; the job's name is the one the command computes."""
        stored = Schedule._from_rest_object(self.schedule_rest[schedule])
        assert isinstance(stored, JobSchedule)
        job = stored.create_job
        assert isinstance(job, PipelineJob)
        step = job.jobs["invoke"]
        # Read back, an inline step's command is in its anonymous component (YAML text).
        component = step.component  # type: ignore[union-attr]
        line = str(yaml.safe_load(component)["command"] if isinstance(component, str) else step.command)
        stamp = self.now.strftime("%Y%m%d%H%M")
        line = line.replace("$(date -u +%Y%m%d%H%M)", stamp)
        name = line.split('JOB="', 1)[1].split('"', 1)[0]
        words = shlex.split(line.split("az ml batch-endpoint invoke", 1)[1].replace("$JOB", name))
        args: dict[str, str] = {}
        sets: dict[str, str] = {}
        for flag, value in zip(words[::2], words[1::2], strict=True):
            if flag == "--set":
                key, _, v = value.partition("=")
                sets[key] = v
            else:
                args[flag] = value
        assert args["--workspace-name"] == self.workspace, args
        props = {k.removeprefix("properties."): v for k, v in sets.items() if k.startswith("properties.")}
        self.batch_endpoints.invoke(
            args["--name"],
            deployment_name=args["--deployment-name"],
            input=Input(type=args["--input-type"], path=args["--input"]),
            outputs={"score": Output(type="uri_folder", path=args["--output-path"])},
            job_name=sets["job_name"],
            params_override=[{"properties": props}],
        )
        return sets["job_name"]

    # --- shared service rules ------------------------------------------------------------------------
    def arm(self) -> str:
        return _ARM.format(s=self.subscription, g=self.resource_group, w=self.workspace)

    def endpoint_rest(self, name: str) -> Any:
        rest = self.endpoints.get(name)
        if rest is None:
            raise http_error(404, "ResourceNotFound", f"batch endpoint {name!r} not found")
        return rest

    def deployment_rest(self, endpoint: str, name: str) -> Any:
        self.endpoint_rest(endpoint)
        rest = self.deployments.get((endpoint, name))
        if rest is None:
            raise http_error(404, "ResourceNotFound", f"deployment {name!r} not found on {endpoint!r}")
        return rest


def _default_of(rest: Any) -> str | None:
    defaults = rest.properties.defaults
    return None if defaults is None else defaults.deployment_name


class FakeBatchEndpoints:
    def __init__(self, ws: FakeBatchWorkspace) -> None:
        self._ws = ws

    def get(self, name: str) -> BatchEndpoint:
        self._ws.hit("batch_endpoints.get")
        return BatchEndpoint._from_rest_object(self._ws.endpoint_rest(name))

    def begin_create_or_update(self, endpoint: BatchEndpoint) -> Done:
        if type(endpoint) is not BatchEndpoint:
            raise TypeError(f"expected a BatchEndpoint, got {type(endpoint)}")
        self._ws.hit("batch_endpoints.begin_create_or_update")
        check_arm_tags(endpoint.tags)
        rest = endpoint._to_rest_batch_endpoint(self._ws.location)  # validates the name, like the SDK
        name = str(endpoint.name)
        existing = self._ws.endpoints.get(name)
        if existing is not None and existing.properties.provisioning_state != "Succeeded":
            raise http_error(409, "Conflict", f"Batch endpoint {name} has an operation in progress")
        default = _default_of(rest)
        if default is not None and (name, default) not in self._ws.deployments:
            raise http_error(400, "BadArgument", f"Default deployment {default} does not exist")
        rest.name, rest.id = name, f"{self._ws.arm()}/batchEndpoints/{name}"
        rest.properties.provisioning_state = "Creating" if existing is None else "Succeeded"
        self._ws.endpoints[name] = rest
        return Done(BatchEndpoint._from_rest_object(rest))

    def begin_delete(self, name: str) -> Done:
        self._ws.hit("batch_endpoints.begin_delete")
        self._ws.endpoint_rest(name)
        del self._ws.endpoints[name]
        for key in [k for k in self._ws.deployments if k[0] == name]:
            del self._ws.deployments[key]  # deployments go with their endpoint
        return Done()

    def invoke(self, endpoint_name: str, *, deployment_name: str | None = None, **kwargs: Any) -> BatchJob:
        self._ws.hit("batch_endpoints.invoke")
        rest = self._ws.endpoint_rest(endpoint_name)
        deployment = deployment_name or _default_of(rest)
        if deployment is None:
            raise http_error(400, "BadArgument", "No deployment given and the endpoint has no default")
        dep = self._ws.deployment_rest(endpoint_name, deployment)
        if dep.properties.provisioning_state != "Succeeded":
            raise http_error(409, "Conflict", f"Deployment {deployment} is not ready to score")
        name = kwargs.get("job_name") or f"batchjob-{len(self._ws.jobs_by_name)}"
        if name in self._ws.jobs_by_name:
            raise http_error(409, "UserError", f"A job named {name} already exists")
        props: dict[str, str] = {}
        for override in kwargs.get("params_override") or []:
            props |= override.get("properties", {})
        self._ws.invocations.append(
            Invocation(endpoint_name, deployment, name, kwargs["input"], kwargs.get("outputs", {}), props)
        )
        created = SystemData(created_at=self._ws.now)
        self._ws.jobs_by_name[name] = PipelineJob(
            name=name, status="Running", properties=props, creation_context=created
        )
        self._ws.job_endpoint[name] = endpoint_name
        return BatchJob(name=name, status="Running")

    def list_jobs(self, endpoint_name: str) -> list[BatchJob]:
        self._ws.hit("batch_endpoints.list_jobs")
        self._ws.endpoint_rest(endpoint_name)
        return [
            BatchJob(name=name, status=job.status)
            for name, job in self._ws.jobs_by_name.items()
            if self._ws.job_endpoint[name] == endpoint_name
        ]


class FakeBatchDeployments:
    def __init__(self, ws: FakeBatchWorkspace) -> None:
        self._ws = ws

    def get(self, name: str, endpoint_name: str) -> BatchDeployment:
        self._ws.hit("batch_deployments.get")
        entity = BatchDeployment._from_rest_object(self._ws.deployment_rest(endpoint_name, name))
        entity.endpoint_name = endpoint_name
        return entity

    def list(self, endpoint_name: str) -> Iterator[BatchDeployment]:
        self._ws.hit("batch_deployments.list")
        self._ws.endpoint_rest(endpoint_name)
        found = [r for (e, _), r in self._ws.deployments.items() if e == endpoint_name]
        return iter([BatchDeployment._from_rest_object(r) for r in found])

    def begin_create_or_update(self, deployment: ModelBatchDeployment) -> Done:
        if type(deployment) is not ModelBatchDeployment:
            raise TypeError(f"expected a ModelBatchDeployment, got {type(deployment)}")
        self._ws.hit("batch_deployments.begin_create_or_update")
        check_arm_tags(deployment.tags)
        endpoint = str(deployment.endpoint_name)
        if self._ws.endpoint_rest(endpoint).properties.provisioning_state != "Succeeded":
            raise http_error(409, "Conflict", f"Batch endpoint {endpoint} is not in a terminal state")
        if not deployment.compute:
            raise http_error(400, "BadArgument", "A batch deployment needs a compute cluster")
        rest = deployment._to_rest_object(location=self._ws.location)
        key = (endpoint, str(deployment.name))
        rest.name, rest.id = (
            deployment.name,
            f"{self._ws.arm()}/batchEndpoints/{endpoint}/deployments/{key[1]}",
        )
        rest.properties.provisioning_state = "Creating"
        self._ws.deployments[key] = rest
        return Done()

    def begin_delete(self, name: str, endpoint_name: str) -> Done:
        self._ws.hit("batch_deployments.begin_delete")
        self._ws.deployment_rest(endpoint_name, name)
        if _default_of(self._ws.endpoint_rest(endpoint_name)) == name:
            raise http_error(400, "BadArgument", f"Deployment {name} is the endpoint's default")
        del self._ws.deployments[(endpoint_name, name)]
        return Done()


class FakeJobs:
    def __init__(self, ws: FakeBatchWorkspace) -> None:
        self._ws = ws

    def get(self, name: str) -> PipelineJob:
        self._ws.hit("jobs.get")
        job = self._ws.jobs_by_name.get(name)
        if job is None:
            raise http_error(404, "UserError", f"job {name!r} not found")
        return job


class FakeSchedules:
    def __init__(self, ws: FakeBatchWorkspace) -> None:
        self._ws = ws

    def list(self) -> list[Schedule]:
        self._ws.hit("schedules.list")
        return [Schedule._from_rest_object(r) for r in self._ws.schedule_rest.values()]

    def begin_create_or_update(self, schedule: JobSchedule) -> Done:
        self._ws.hit("schedules.begin_create_or_update")
        check_arm_tags(schedule.tags)
        rest = schedule._to_rest_object()  # refuses job types schedules cannot run, like the SDK
        rest.name = schedule.name
        # Through the wire and back, as the service keeps it: a body the SDK cannot send fails here.
        self._ws.schedule_rest[str(schedule.name)] = type(rest)(json.loads(json.dumps(rest.as_dict())))
        return Done()

    def begin_delete(self, name: str) -> Done:
        self._ws.hit("schedules.begin_delete")
        if name not in self._ws.schedule_rest:
            raise http_error(404, "UserError", f"schedule {name!r} not found")
        del self._ws.schedule_rest[name]
        return Done()
