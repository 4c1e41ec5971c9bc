"""What the rollout machine asks the world to do, in the order it must be done.

A decision's actions are ordered: traffic first (so a failing candidate stops serving before anything else
happens), then revisions are created or deleted, then validation, analysis, retraining and events. Every
action is idempotent; the machine emits the same ones again until the observations show they took effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from modeldeploy.api.notifications import Trigger
from modeldeploy.api.status import ModelStages, StagedVersion
from modeldeploy.rollout.serving import TrafficSplit


@dataclass(frozen=True)
class SetTraffic:
    split: TrafficSplit


@dataclass(frozen=True)
class EnsureRevision:
    """Create (or update in place) the revision the current spec describes."""

    name: str
    short_name: str
    spec_hash: str


@dataclass(frozen=True)
class DeleteRevision:
    """Remove a revision that serves nothing; ``not_before`` is when its grace period ended."""

    name: str
    not_before: datetime


@dataclass(frozen=True)
class RunAnalysis:
    """Judge ``revision`` (against ``baseline`` when there is one) over traffic since ``window_start``.

    ``step_index`` is None for steady-state monitoring of the stable revision (drift only).
    """

    revision: str
    baseline: str | None
    step_index: int | None
    window_start: datetime


@dataclass(frozen=True)
class ValidateRevision:
    """Send the Ready candidate ``revision`` its health check and sample requests (it has no live traffic);
    ``attempt`` counts from 1 for this revision; ``stable`` answers the same evaluation rows, to compare."""

    revision: str
    attempt: int = 1
    stable: str | None = None


@dataclass(frozen=True)
class SyncStages:
    """Make the registry's stage tags say ``desired``; ``release`` lost its staging tag (failed or
    superseded) and gets back the stage it had before. Read before write: applying it twice is harmless."""

    desired: ModelStages
    release: tuple[StagedVersion, ...] = ()


@dataclass(frozen=True)
class FireRetraining:
    """Start the retraining pipeline once for the confirmed drift ``drift_id``."""

    revision: str
    drift_id: str
    features: tuple[str, ...] = ()


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class EmitEvent:
    """An Event on the object; ``notices`` are the subscribable transitions it stands for (none for the
    many Events only people reading the object need), sent to ``spec.notifications`` by the reconciler."""

    type: EventType
    reason: str
    message: str
    notices: tuple[Trigger, ...] = ()
    revision: str = ""


@dataclass(frozen=True)
class RequeueAfter:
    seconds: float


Action = (
    SetTraffic
    | EnsureRevision
    | DeleteRevision
    | ValidateRevision
    | RunAnalysis
    | SyncStages
    | FireRetraining
    | EmitEvent
    | RequeueAfter
)

_ORDER: dict[type, int] = {
    SetTraffic: 0,
    EnsureRevision: 1,
    DeleteRevision: 2,
    ValidateRevision: 3,
    RunAnalysis: 4,
    SyncStages: 5,
    FireRetraining: 6,
    EmitEvent: 7,
    RequeueAfter: 8,
}


def ordered(actions: list[Action]) -> tuple[Action, ...]:
    """Actions in safe order (stable within a kind)."""
    return tuple(sorted(actions, key=lambda a: _ORDER[type(a)]))
