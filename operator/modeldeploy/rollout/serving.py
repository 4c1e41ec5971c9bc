"""What the rollout machine sees of a serving target: live traffic weights, and each revision's readiness.

These are the core's own value types: backends produce them, the machine decides on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


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
