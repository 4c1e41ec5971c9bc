"""The machine's whole world for one reconcile, and what it decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from modeldeploy.api.status import AnalysisResult, ModelDeploymentStatus, ValidationResult
from modeldeploy.rollout.actions import Action
from modeldeploy.rollout.plan import RolloutPlan
from modeldeploy.rollout.revision import DesiredRevision
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit


@dataclass(frozen=True)
class Inputs:
    """A snapshot: the spec (as ``desired`` + ``plan``), the stored status and what was just observed.

    ``observed`` holds the state of every revision the status names (see ``names_to_observe``); a missing
    entry means "unknown", never "deleted". ``analysis`` is the newest analysis result for the revision under
    test, or None; ``validation`` the newest pre-traffic validation of the candidate, or None. ``now`` is
    the only clock the machine sees.
    """

    generation: int
    desired: DesiredRevision
    plan: RolloutPlan
    status: ModelDeploymentStatus
    now: datetime
    observed: Mapping[str, RevisionState] = field(default_factory=dict)
    observed_traffic: TrafficSplit | None = None
    analysis: AnalysisResult | None = None
    validation: ValidationResult | None = None

    def readiness(self, name: str) -> Readiness | None:
        state = self.observed.get(name)
        return state.readiness if state is not None else None


@dataclass(frozen=True)
class Decision:
    """Apply by writing ``status`` first, then running ``actions`` in order (see ``modeldeploy.rollout``)."""

    status: ModelDeploymentStatus
    actions: tuple[Action, ...]


def names_to_observe(status: ModelDeploymentStatus, desired: DesiredRevision) -> list[str]:
    """Every revision whose state the next decision needs."""
    names = [r.name for r in (status.stable, status.candidate) if r is not None]
    names += [r.name for r in status.retired_revisions]
    names.append(desired.name)
    return list(dict.fromkeys(names))
