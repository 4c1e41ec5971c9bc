"""The serving-backend protocol: the only way rollout decisions touch the world.

A *revision* is one immutable version of a ModelDeployment's serving spec (model, code, environment, target
settings), named ``<deployment>-<hash>``. Backends create revisions, report their readiness and route traffic
between them. Every method is idempotent: the operator may call it again after a crash or a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True)
class Owner:
    """The ModelDeployment that owns everything a backend creates (for owner references and labels)."""

    namespace: str
    name: str
    uid: str
    api_version: str = "mlops.kdap.io/v1alpha1"
    kind: str = "ModelDeployment"


@dataclass(frozen=True)
class RevisionRequest:
    """What a backend needs to run one revision.

    ``spec`` is the ModelDeployment's validated spec (``modeldeploy.api.spec.ModelDeploymentSpec``) as it was
    when the revision was cut; ``min_replicas`` lets the rollout scale a revision down without editing it.
    """

    name: str
    spec: Any
    min_replicas: int | None = None


@dataclass(frozen=True)
class TrafficSplit:
    """Live weights (percent, summing to 100) and at most one mirrored revision."""

    weights: Mapping[str, int]
    mirror: str | None = None
    mirror_percent: int = 0

    def __post_init__(self) -> None:
        total = sum(self.weights.values())
        if self.weights and total != 100:
            raise ValueError(f"traffic weights must sum to 100, got {total}: {dict(self.weights)}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError(f"traffic weights must not be negative: {dict(self.weights)}")
        if self.mirror is not None:
            if not 0 < self.mirror_percent <= 100:
                raise ValueError(f"mirror_percent must be in 1..100, got {self.mirror_percent}")
            if self.weights.get(self.mirror, 0) > 0:
                raise ValueError(f"revision {self.mirror!r} cannot take live and mirrored traffic at once")


class Readiness(StrEnum):
    MISSING = "Missing"  # nothing created yet, or deleted
    PROGRESSING = "Progressing"  # created, not yet serving
    READY = "Ready"
    FAILED = "Failed"  # will not become ready without a change (bad image, quota, missing gateway ...)


@dataclass(frozen=True)
class RevisionState:
    name: str
    readiness: Readiness
    ready_replicas: int = 0
    desired_replicas: int = 0
    reason: str = ""
    message: str = ""
    # A long-running operation still in flight (backend-defined, str -> str, e.g. kind, startedAt) that the
    # operator may keep in status; empty when none. Backends recover it after a restart without help.
    operation: Mapping[str, str] = field(default_factory=dict)


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

    def delete_all(self, owner: Owner) -> None:
        """Remove everything the operator created for ``owner`` (the finalizer's work)."""
        ...
