"""AzureMLBatchBackend: the batch port on an Azure ML batch endpoint.

One instance serves one endpoint (``target.azureml.endpointName``). Revisions are ``ModelBatchDeployment``s
on it, tagged with the revision's name; runs are invocations of a deployment, each a workspace job named by
the batch machine and carrying its revision, trigger, input and output as job properties; schedules are
``JobSchedule``s; the default revision is the endpoint's ``defaults.deployment_name``, switched when the
machine applies the schedules for a new default. Everything a restart needs is in Azure.

API cost per reconcile: one endpoint GET and one deployment LIST (revisions), one job LIST on the endpoint
plus one job GET per run not known to have ended (a job that ended never changes, so it is read once per
process); a schedule change adds one upsert per schedule and one schedule LIST.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from azure.ai.ml import Input, Output
from azure.ai.ml.constants import AssetTypes
from azure.core.exceptions import ResourceNotFoundError

from modeldeploy.api.azure_names import TAG_OWNER, TAG_REVISION, TAG_SPEC_HASH, deployment_name
from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec
from modeldeploy.backends.azureml import batch_build as bb
from modeldeploy.backends.azureml.build import invalid
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.operation import IN_PROGRESS, provisioning
from modeldeploy.backends.azureml.sdk import BatchDeploymentOps, BatchEndpointOps, JobOps, ScheduleOps
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.batch_types import JobSeen, StartRun, run_name

T = TypeVar("T")


@dataclass(frozen=True)
class AzureMLBatchClients:
    """``MLClient.batch_endpoints``, ``.batch_deployments``, ``.jobs`` and ``.schedules`` of a workspace."""

    batch_endpoints: BatchEndpointOps
    batch_deployments: BatchDeploymentOps
    jobs: JobOps
    schedules: ScheduleOps


def default_deployment(endpoint: Any) -> str | None:
    """``endpoint.defaults.deployment_name``: a dict on an entity built here, the REST model once read."""
    defaults = getattr(endpoint, "defaults", None)
    if isinstance(defaults, dict):
        return defaults.get("deployment_name")
    return getattr(defaults, "deployment_name", None)


@dataclass
class AzureMLBatchBackend:
    clients: AzureMLBatchClients
    target: AzureMLTarget
    guard: Guard = field(default_factory=Guard)
    # Jobs that ended, and jobs on the endpoint that are not runs: neither changes, so each is read once.
    _ended: dict[str, JobSeen] = field(default_factory=dict)
    _foreign: set[str] = field(default_factory=set)

    @property
    def endpoint(self) -> str:
        return self.target.endpoint_name

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        return self.guard.call(f"{self.target.workspace}/batch/{self.endpoint}", action, fn)

    def _get_endpoint(self, owner: Owner) -> Any | None:
        ops = self.clients.batch_endpoints
        try:
            found = self._call(f"get batch endpoint {self.endpoint}", lambda: ops.get(self.endpoint))
        except ResourceNotFoundError:
            return None
        _check_owner(found, owner, f"batch endpoint {self.endpoint}")
        return found

    def _deployments(self, owner: Owner) -> list[Any]:
        ops = self.clients.batch_deployments
        found = self._call(f"list deployments of {self.endpoint}", lambda: list(ops.list(self.endpoint)))
        mine = f"{owner.namespace}/{owner.name}"
        return [d for d in found if (d.tags or {}).get(TAG_OWNER) == mine]

    # ---- revisions ---------------------------------------------------------------------------------------

    def revisions(self, owner: Owner) -> frozenset[str]:
        """Revisions whose deployment can run now (provisioned); one still being created is not one yet."""
        if self._get_endpoint(owner) is None:
            return frozenset()
        return frozenset(
            d.tags[TAG_REVISION]
            for d in self._deployments(owner)
            if TAG_REVISION in d.tags and provisioning(d).lower() == "succeeded"
        )

    def ensure_revision(self, owner: Owner, name: str, spec: ModelDeploymentSpec) -> bool:
        """Create the endpoint, then the revision's deployment; True once the deployment can run. A failed
        deployment is not retried (its spec would fail again): the error names it."""
        endpoint = self._get_endpoint(owner)
        if endpoint is None:
            created = bb.endpoint_entity(self.target, owner)
            endpoints = self.clients.batch_endpoints
            self._call(
                f"create batch endpoint {self.endpoint}", partial(endpoints.begin_create_or_update, created)
            )
            return False
        if provisioning(endpoint).lower() in IN_PROGRESS:
            return False
        if provisioning(endpoint).lower() in ("failed", "canceled"):
            raise BackendError(
                "EndpointProvisioningFailed",
                f"batch endpoint {self.endpoint} is {provisioning(endpoint)}; see its activity log, then "
                "delete it (the operator creates it again)",
                retryable=False,
            )
        dep = deployment_name(name)
        ops = self.clients.batch_deployments
        try:
            current = self._call(f"get deployment {dep}", lambda: ops.get(dep, self.endpoint))
        except ResourceNotFoundError:
            current = None
        if current is None:
            entity = bb.deployment_entity(spec, owner, name, dep)
            self._call(f"create deployment {dep}", lambda: ops.begin_create_or_update(entity))
            return False
        _check_owner(current, owner, f"deployment {dep} on batch endpoint {self.endpoint}")
        tags = current.tags or {}
        if tags.get(TAG_REVISION) != name or tags.get(TAG_SPEC_HASH) != bb.fingerprint(spec):
            raise BackendError(
                "NameCollision", f"deployment {dep} belongs to another revision", retryable=False
            )
        state = provisioning(current).lower()
        if state in ("failed", "canceled"):
            raise BackendError(
                "DeploymentProvisioningFailed",
                f"batch deployment {dep} is {provisioning(current)}; see its activity log, then change the "
                "spec (a new revision) or delete the deployment to try again",
                retryable=False,
            )
        return state == "succeeded"

    def delete_revision(self, owner: Owner, name: str) -> None:
        dep = deployment_name(name)
        ops = self.clients.batch_deployments
        try:
            current = self._call(f"get deployment {dep}", lambda: ops.get(dep, self.endpoint))
        except ResourceNotFoundError:
            return
        _check_owner(current, owner, f"deployment {dep}")
        self._call(f"delete deployment {dep}", lambda: ops.begin_delete(dep, self.endpoint))

    # ---- runs --------------------------------------------------------------------------------------------

    def runs(self, owner: Owner) -> tuple[JobSeen, ...]:
        if self._get_endpoint(owner) is None:
            return ()
        listed = self._call(
            f"list jobs of {self.endpoint}",
            lambda: list(self.clients.batch_endpoints.list_jobs(self.endpoint)),
        )
        # Every run the machine or a schedule names starts so; a job named so is a run even if the service
        # dropped its properties (its status record knows the rest), any other is someone else's.
        ours = run_name(owner.name, "")
        # What is remembered is what the endpoint still lists: jobs Azure ML has aged out are forgotten too,
        # so this backend's memory follows the endpoint's history, not every job it ever saw.
        names = {str(item.name) for item in listed}
        self._ended = {k: v for k, v in self._ended.items() if k in names}
        self._foreign &= names
        seen: list[JobSeen] = []
        for item in listed:
            name = str(item.name)
            if name in self._foreign:
                continue
            run = self._ended.get(name)
            if run is None:
                try:
                    job = self._call(f"get job {name}", partial(self.clients.jobs.get, name))
                except ResourceNotFoundError:
                    continue
                run = bb.job_seen(job)
                if not run.revision and not name.startswith(ours):  # someone else's, and always will be
                    self._foreign.add(name)
                    continue
                if run.phase is not RunPhase.RUNNING:
                    self._ended[name] = run
            seen.append(run)
        return tuple(seen)

    def start_run(self, owner: Owner, spec: ModelDeploymentSpec, run: StartRun) -> None:
        """Invoke the revision's deployment once: a job of that name already there is the run."""
        try:
            self._call(f"get job {run.name}", lambda: self.clients.jobs.get(run.name))
            return
        except ResourceNotFoundError:
            pass
        if run.upto is not None and run.file_uri is None:
            raise invalid("spec.batch.dataArrival", "an Azure ML batch job cannot be given a range of files")
        # A data-arrival run on Azure ML holds one file (the machine starts one per file): the job's input.
        data = (
            Input(type=AssetTypes.URI_FOLDER, path=run.input)
            if run.file_uri is None
            else Input(type=AssetTypes.URI_FILE, path=run.file_uri)
        )
        assert spec.batch is not None
        file_name = spec.batch.output.file_name
        folder = bb.output_folder(spec, owner, run.revision, run.name)
        props = bb.run_properties(run.revision, run.trigger, run.input, folder)
        ops = self.clients.batch_endpoints
        self._call(
            f"invoke {self.endpoint}/{deployment_name(run.revision)} as {run.name}",
            lambda: ops.invoke(
                self.endpoint,
                deployment_name=deployment_name(run.revision),
                input=data,
                # Model deployments write one output, "score": the file of every row (or the summary).
                outputs={"score": Output(type=AssetTypes.URI_FILE, path=folder + file_name)},
                job_name=run.name,
                params_override=[{"properties": props}],
            ),
        )

    # ---- the default and the schedules -------------------------------------------------------------------

    def apply_schedules(self, owner: Owner, spec: ModelDeploymentSpec, revision: str) -> None:
        """Make ``revision`` the endpoint's default deployment, then one JobSchedule per schedule invoking
        it; schedules of this model no longer in the spec are deleted."""
        assert spec.batch is not None
        dep = deployment_name(revision)
        endpoint = self._get_endpoint(owner)
        if endpoint is None:
            raise BackendError("EndpointMissing", f"batch endpoint {self.endpoint} does not exist")
        if default_deployment(endpoint) != dep:
            endpoint.defaults = {"deployment_name": dep}
            ops = self.clients.batch_endpoints
            self._call(f"make {dep} the default", partial(ops.begin_create_or_update, endpoint))
        schedules = self.clients.schedules
        wanted = set()
        for s in spec.batch.schedules:
            entity = bb.schedule_entity(spec, owner, revision, dep, s.name)
            wanted.add(bb.schedule_name(owner, s.name))
            self._call(f"apply schedule {entity.name}", partial(schedules.begin_create_or_update, entity))
        self._delete_schedules(owner, keep=wanted)

    def _delete_schedules(self, owner: Owner, keep: set[str]) -> None:
        ops = self.clients.schedules
        mine = f"{owner.namespace}/{owner.name}"
        for s in self._call("list schedules", lambda: list(ops.list())):
            if (s.tags or {}).get(TAG_OWNER) == mine and s.name not in keep:
                self._call(f"delete schedule {s.name}", partial(ops.begin_delete, s.name))

    def delete_all(self, owner: Owner) -> None:
        """The finalizer's work: the schedules (they live beside the endpoint), then the endpoint, which takes
        its deployments with it. Someone else's endpoint is left alone."""
        self._delete_schedules(owner, keep=set())
        ops = self.clients.batch_endpoints
        try:
            found = self._call(f"get batch endpoint {self.endpoint}", partial(ops.get, self.endpoint))
        except ResourceNotFoundError:
            return
        if (found.tags or {}).get(TAG_OWNER) != f"{owner.namespace}/{owner.name}":
            return
        if provisioning(found).lower() != "deleting":
            self._call(f"delete batch endpoint {self.endpoint}", partial(ops.begin_delete, self.endpoint))


def _check_owner(entity: Any, owner: Owner, what: str) -> None:
    found = (getattr(entity, "tags", None) or {}).get(TAG_OWNER)
    expected = f"{owner.namespace}/{owner.name}"
    if found != expected:
        raise BackendError(
            "NotOwned",
            f"{what} is managed by {found or 'someone else (no kdap-owner tag)'}, not {expected}; choose "
            "another target.azureml.endpointName or delete the existing resource",
            retryable=False,
        )
