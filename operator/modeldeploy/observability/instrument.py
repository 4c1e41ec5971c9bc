"""Decorators that meter the reconciler and its ports, so the controller stays unaware of metrics.

``controller.wiring.build_wiring`` applies them: every status write updates the phase/traffic/analysis/drift/
rollback metrics, every Event is counted, every reconcile is timed and logged with its resource bound. This
package imports the ports, never the controller.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

from modeldeploy.api.status import ModelDeploymentStatus
from modeldeploy.observability import metrics
from modeldeploy.observability.logs import bound
from modeldeploy.ports import BackendError, Conflict, EventSink, Owner, StatusStore
from modeldeploy.rollout.actions import EventType


class MeteredStatusStore:
    def __init__(self, inner: StatusStore) -> None:
        self.inner = inner

    def write_status(
        self,
        owner: Owner,
        resource_version: str,
        status: ModelDeploymentStatus,
        previous: ModelDeploymentStatus,
    ) -> str:
        rv = self.inner.write_status(owner, resource_version, status, previous)
        metrics.record_status(owner.namespace, owner.name, previous, status)
        return rv

    def confirm_current(self, owner: Owner, resource_version: str) -> None:
        self.inner.confirm_current(owner, resource_version)


class MeteredEventSink:
    def __init__(self, inner: EventSink) -> None:
        self.inner = inner

    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None:
        metrics.record_event(owner.namespace, owner.name, type.value, reason)
        self.inner.emit(owner, type, reason, message)


def backend_kind(body: Mapping[str, Any]) -> str:
    target = (body.get("spec") or {}).get("target") or {}
    return str(target.get("type") or "unknown")


class _Outcome(Protocol):
    @property
    def error(self) -> BackendError | None: ...


OutcomeT = TypeVar("OutcomeT", bound=_Outcome)
OutcomeT_co = TypeVar("OutcomeT_co", bound=_Outcome, covariant=True)


class _Reconciles(Protocol[OutcomeT_co]):
    def reconcile(self, body: Mapping[str, Any]) -> OutcomeT_co: ...

    def finalize(self, body: Mapping[str, Any]) -> None: ...

    def needs_finalizer(self, body: Mapping[str, Any]) -> bool: ...

    def forget(self, uid: str) -> None: ...


class MeteredReconciler(Generic[OutcomeT]):
    """Times each reconcile and binds the resource (and the revision Git asks for) to its log lines."""

    def __init__(self, inner: _Reconciles[OutcomeT]) -> None:
        self.inner = inner

    def finalize(self, body: Mapping[str, Any]) -> None:
        meta = body["metadata"]
        with bound(str(meta.get("namespace", "")), str(meta["name"]), ""):
            self.inner.finalize(body)

    def needs_finalizer(self, body: Mapping[str, Any]) -> bool:
        return self.inner.needs_finalizer(body)

    def forget(self, uid: str) -> None:
        self.inner.forget(uid)

    def reconcile(self, body: Mapping[str, Any]) -> OutcomeT:
        meta = body["metadata"]
        ns, name = str(meta.get("namespace", "")), str(meta["name"])
        status = body.get("status") or {}
        revision = str(((status.get("candidate") or status.get("stable")) or {}).get("name", ""))
        start = time.perf_counter()
        outcome_label = "error"
        with bound(ns, name, revision):
            try:
                outcome = self.inner.reconcile(body)
                if outcome.error is not None:
                    outcome_label = "backend_error"
                    metrics.record_backend_error(ns, name, backend_kind(body), outcome.error.reason)
                else:
                    outcome_label = "ok"
                return outcome
            except Conflict:
                outcome_label = "conflict"
                raise
            finally:
                metrics.observe_reconcile(ns, name, time.perf_counter() - start, outcome_label)
