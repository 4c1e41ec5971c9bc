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


class EventSink(Protocol):
    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None: ...


class AnalysisRunner(Protocol):
    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        """Measure ``request.revision``; bad data gives an Inconclusive or Error verdict, never raises."""
        ...


class RetrainingTrigger(Protocol):
    def fire(self, owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, now: datetime) -> str:
        """Start retraining; returns a human-readable reference (job name, event id)."""
        ...


class BackendFactory(Protocol):
    def __call__(self, owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend: ...


Body = Mapping[str, Any]
