"""The reconciler's view of the world: small protocols, one Kubernetes implementation each, fakes in tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult, ModelDeploymentStatus
from modeldeploy.backends.base import Owner, ServingBackend
from modeldeploy.rollout.actions import EventType, FireRetraining, RunAnalysis


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


class AnalysisRunner(Protocol):
    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        """Measure ``request.revision``; bad data gives an Inconclusive or Error verdict, never raises."""
        ...

    def forget(self, uid: str) -> None:
        """Drop what is kept for an object between runs (providers, its reference profile)."""
        ...


class RetrainingTrigger(Protocol):
    def fire(self, owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, now: datetime) -> str:
        """Start retraining; returns a human-readable reference (job name, event id)."""
        ...


class BackendFactory(Protocol):
    def __call__(self, owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend: ...


Body = Mapping[str, Any]
