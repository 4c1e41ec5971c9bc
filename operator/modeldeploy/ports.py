"""The ports: every protocol through which the operator touches the world, and the values that cross them.

- ``ServingBackend``: where revisions run and traffic is routed (Kubernetes, Azure ML). A *revision* is one
  immutable version of a ModelDeployment's serving spec, named ``<deployment>-<hash>``; every method is
  idempotent, since the operator may call it again after a crash or a conflict.
- ``StatusStore``, ``Finalizers``, ``EventSink``: the ModelDeployment's status, finalizer and Events.
- ``AnalysisRunner``, ``Retrainer``: measuring a revision, and starting retraining after drift.
- ``RevisionValidator``: the pre-traffic health check and sample requests sent to a Ready revision.
- ``ModelRegistry``, ``ModelRegistrar``: stage tags of registered model versions, and registering one.

One Kubernetes or Azure implementation each, fakes in tests. This module imports only the API and the
pure core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult, ModelDeploymentStatus, ValidationResult
from modeldeploy.rollout.actions import EventType, FireRetraining, RunAnalysis, SyncStages, ValidateRevision
from modeldeploy.rollout.batch_types import ComparisonSeen, JobSeen, StartRun
from modeldeploy.rollout.serving import RevisionState, TrafficSplit


@dataclass(frozen=True)
class Owner:
    """The ModelDeployment that owns everything a backend creates (for owner references and labels)."""

    namespace: str
    name: str
    uid: str
    api_version: str = "mlops.kdap.io/v1alpha1"
    kind: str = "ModelDeployment"
    # Cost-allocation tags for Azure resources created for it (api.platform.cost_tags), as pairs to stay
    # hashable; empty when the namespace's labels are not known.
    cost_tags: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class RevisionRequest:
    """What a backend needs to run one revision.

    ``spec`` is the ModelDeployment's validated spec as it was when the revision was cut; ``min_replicas``
    lets the rollout scale a revision down without editing it.
    """

    name: str
    spec: ModelDeploymentSpec
    min_replicas: int | None = None


# Not frozen: Python (contextlib, traceback chaining) assigns __traceback__ on exceptions it re-raises, which
# a frozen dataclass refuses. eq=False keeps identity equality and hashing, as for any exception.
@dataclass(eq=False)
class BackendError(Exception):
    """A failure the operator turns into a condition. ``retryable`` errors are retried with backoff."""

    reason: str
    message: str
    retryable: bool = True
    details: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass(frozen=True)
class ScoringAddress:
    """Where one revision answers requests on its own, without the traffic split: ``base_url`` (scheme, host,
    port), the scoring path, and headers every request needs (Azure ML: the deployment to route to, the
    endpoint's auth)."""

    base_url: str
    scoring_path: str = "/score"
    headers: Mapping[str, str] = field(default_factory=dict)


class RegistrationRefused(BackendError):
    """The spec asks for a model version the registry's history does not allow; only a spec change fixes
    it (the object's SpecValid condition says why)."""

    def __init__(self, message: str) -> None:
        super().__init__("RegistrationRefused", message, retryable=False)


class ServingBackend(Protocol):
    """Implemented by the Kubernetes backend and the Azure ML backend; one contract test suite covers both."""

    def ensure_revision(self, owner: Owner, revision: RevisionRequest) -> RevisionState:
        """Create or update the revision's serving resources; return its state right after."""
        ...

    def revision_state(self, owner: Owner, name: str) -> RevisionState: ...

    def set_traffic(self, owner: Owner, split: TrafficSplit) -> None:
        """Route live and mirrored traffic exactly as ``split`` says, in one step where the target allows."""
        ...

    def observed_traffic(self, owner: Owner) -> TrafficSplit | None:
        """What the target routes now (None when no route exists yet)."""
        ...

    def delete_revision(self, owner: Owner, name: str) -> None: ...

    def scoring_address(self, owner: Owner, name: str) -> ScoringAddress:
        """Where revision ``name`` alone answers (for validation before it has any traffic)."""
        ...

    def delete_all(self, owner: Owner) -> None:
        """Remove everything the operator created for ``owner`` (the finalizer's work)."""
        ...


class Conflict(Exception):
    """The object changed since it was read (HTTP 409): read it again and decide again."""


class Gone(Exception):
    """The object no longer exists (HTTP 404): forget it."""


class StatusStore(Protocol):
    def write_status(
        self,
        owner: Owner,
        resource_version: str,
        status: ModelDeploymentStatus,
        previous: ModelDeploymentStatus,
    ) -> str:
        """Patch the status subresource if ``resource_version`` is current; return the new version.

        Raises :class:`Conflict` when it is not.
        """
        ...

    def confirm_current(self, owner: Owner, resource_version: str) -> None:
        """Raise :class:`Conflict` unless ``resource_version`` is still the object's (one read).

        A reconcile that changes nothing in the status has no compare-and-swap write to fail; before it
        changes the world it asks this instead, so a replica acting on a stale view (its watch cut off, or
        a newer replica already writing) does nothing rather than undo newer work.
        """
        ...


class Finalizers(Protocol):
    """The operator's finalizer on a ModelDeployment: it keeps the object until its children are removed."""

    name: str

    def ensure(self, owner: Owner, resource_version: str, finalizers: list[str]) -> str:
        """Add ours to ``finalizers`` (as read at ``resource_version``); compare-and-swap; the new version.

        Raises :class:`Conflict` when the object changed, :class:`Gone` when it was deleted.
        """
        ...

    def release(self, owner: Owner, resource_version: str, finalizers: list[str]) -> None:
        """Remove ours from ``finalizers`` (compare-and-swap): the API server may then delete the object."""
        ...


class EventSink(Protocol):
    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None: ...


class AnalysisPending(Exception):
    """The analysis runs elsewhere (a Spark job) and has no result yet: ask again in ``retry_after``
    seconds. The controller requeues the object instead of waiting, and feeds the machine no result."""

    def __init__(self, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AnalysisRunner(Protocol):
    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        """Measure ``request.revision``; bad data gives an Inconclusive or Error verdict, never raises
        (except ``AnalysisPending`` while a job computing it runs)."""
        ...

    def forget(self, uid: str) -> None:
        """Drop what is kept for an object between runs (providers, its reference profile)."""
        ...


class RevisionValidator(Protocol):
    def validate(
        self, owner: Owner, spec: ModelDeploymentSpec, request: ValidateRevision, now: datetime
    ) -> ValidationResult:
        """Check ``request.revision``: Successful, Failed (a wrong answer, with the reason) or Error (it could
        not be reached); never raises."""
        ...


class ModelRegistry(Protocol):
    def sync(self, owner: Owner, spec: ModelDeploymentSpec, request: SyncStages, now: datetime) -> str:
        """Tag the registry as ``request`` says, reading each version before writing it (a repeat changes
        nothing); return a summary of what changed ('' when nothing did). Raises BackendError."""
        ...


class ModelRegistrar(Protocol):
    def ensure(self, owner: Owner, spec: ModelDeploymentSpec) -> str:
        """Register ``spec.model.artifactUri`` once (``model.registration``); return the registered
        version's reference. Raises RegistrationRefused for a version that may not follow the registered
        ones."""
        ...


class Retrainer(Protocol):
    def fire(self, owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, now: datetime) -> str:
        """Start retraining; returns a human-readable reference (job name, event id)."""
        ...


class BatchBackend(Protocol):
    """Where a batch model's revisions, runs and schedules live (Kubernetes: PodTemplates, Jobs, CronJobs;
    Azure ML: batch deployments on a batch endpoint, jobs, JobSchedules). Every call is idempotent; a run is
    created once by name; ``apply_schedules`` also makes its revision the target's default."""

    def revisions(self, owner: Owner) -> frozenset[str]:
        """The revisions that can run now."""
        ...

    def ensure_revision(self, owner: Owner, name: str, spec: ModelDeploymentSpec) -> bool:
        """Create the revision if missing; False while it cannot run yet (an Azure ML deployment being
        provisioned): the reconciler looks again soon."""
        ...

    def delete_revision(self, owner: Owner, name: str) -> None: ...

    def runs(self, owner: Owner) -> tuple[JobSeen, ...]: ...

    def start_run(self, owner: Owner, spec: ModelDeploymentSpec, run: StartRun) -> None: ...

    def apply_schedules(self, owner: Owner, spec: ModelDeploymentSpec, revision: str) -> None:
        """One schedule per ``spec.batch.schedules`` entry, running ``revision``; the others removed."""
        ...


class BatchData(Protocol):
    """Reading a batch model's data with the operator's identity, through the policy guard."""

    def compare(
        self, owner: Owner, spec: ModelDeploymentSpec, stable_output: str, candidate_output: str
    ) -> ComparisonSeen:
        """Both validation outputs compared; unreadable data is Inconclusive, never an exception."""
        ...

    def arrivals(self, owner: Owner, spec: ModelDeploymentSpec, watermark: str | None) -> tuple[str, ...]:
        """File names under ``spec.batch.dataArrival.uri`` above ``watermark``, sorted. Raises
        DataUnavailable-like errors as BackendError."""
        ...


class BackendFactory(Protocol):
    def __call__(self, owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend: ...


Body = Mapping[str, Any]
