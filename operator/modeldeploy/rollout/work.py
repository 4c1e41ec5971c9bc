"""A decision's scratch pad: the status being rewritten plus the events and one-shot actions it produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from modeldeploy.api.notifications import Trigger
from modeldeploy.api.status import (
    FAILED_REVISIONS_LIMIT,
    HISTORY_LIMIT,
    Counters,
    FailedRevision,
    HistoryEntry,
    ModelDeploymentStatus,
    RetiredRevision,
    RevisionRecord,
    Traffic,
)
from modeldeploy.rollout.actions import EmitEvent, EventType, FireRetraining
from modeldeploy.rollout.conditions import derive_phase
from modeldeploy.rollout.inputs import Inputs


@dataclass
class Work:
    inputs: Inputs
    status: ModelDeploymentStatus
    events: list[EmitEvent] = field(default_factory=list)
    retrain: list[FireRetraining] = field(default_factory=list)

    def update(self, **changes: Any) -> None:
        self.status = self.status.model_copy(update=changes)
        self.status = self.status.model_copy(update={"traffic": expected_traffic(self)})

    def note(
        self,
        type_: EventType,
        reason: str,
        message: str,
        revision: str = "",
        notices: tuple[Trigger, ...] | None = None,
    ) -> None:
        """Record a transition as an event and in the bounded history. ``notices``: the transitions it
        stands for, when its reason alone does not say (a DriftDetected is a rollback or a pause)."""
        tags = _NOTICES.get(reason, ()) if notices is None else notices
        self.events.append(EmitEvent(type_, reason, message, tags, revision))
        entry = HistoryEntry(
            time=self.inputs.now,
            phase=derive_phase(self.status, self.inputs.desired),
            reason=reason,
            message=message,
            revision=revision,
        )
        self.update(history=[*self.status.history, entry][-HISTORY_LIMIT:])


# Reasons that always stand for the same transition; the others pass ``notices`` where they are noted.
_NOTICES: dict[str, tuple[Trigger, ...]] = {
    "RolloutStarted": (Trigger.STARTED,),
    "AnalysisInconclusive": (Trigger.PAUSED,),
    "RetrainingTriggered": (Trigger.RETRAINING_STARTED,),
}


def drift_notices(reason: str) -> tuple[Trigger, ...]:
    return (Trigger.DRIFT_CONFIRMED,) if reason == "DriftDetected" else ()


def expected_traffic(w: Work) -> Traffic:
    """Traffic follows from who is stable, who is the candidate and which step runs: never stored apart.

    A failed or superseded candidate is no longer the candidate, so no traffic can reach it.
    """
    s, steps = w.status, w.inputs.plan.steps
    if s.stable is None:
        return Traffic()
    i = s.current_step_index
    if s.candidate is None or i is None or not 0 <= i < len(steps):
        return Traffic(weights={s.stable.name: 100})
    step = steps[i]
    weights = {s.stable.name: 100 - step.weight, s.candidate.name: step.weight}
    weights = {name: w for name, w in weights.items() if w > 0}
    if step.mirror_percent:
        return Traffic(
            weights=weights,
            mirror=s.candidate.name,
            mirror_percent=step.mirror_percent,
            candidate_weight=step.weight,
        )
    return Traffic(weights=weights, candidate_weight=step.weight)


def retire(w: Work, revision: RevisionRecord, grace: float) -> None:
    """Put ``revision`` on the list to delete once ``grace`` seconds have passed."""
    now = w.inputs.now
    kept = [r for r in w.status.retired_revisions if r.name != revision.name]
    entry = RetiredRevision(name=revision.name, retired_at=now, delete_after=now + timedelta(seconds=grace))
    w.update(retired_revisions=[*kept, entry])


def end_candidate(w: Work) -> RevisionRecord:
    """Drop the candidate (its traffic goes with it) and reset the per-rollout fields."""
    candidate = w.status.candidate
    assert candidate is not None
    w.update(candidate=None, current_step_index=None, step_started_at=None, pause=None, counters=Counters())
    return candidate


def mark_failed(w: Work, candidate: RevisionRecord, reason: str, message: str) -> None:
    record = FailedRevision(
        spec_hash=candidate.spec_hash,
        name=candidate.name,
        reason=reason,
        message=message,
        failed_at=w.inputs.now,
        model_version=candidate.model_version or None,
    )
    kept = [f for f in w.status.failed_revisions if f.spec_hash != candidate.spec_hash]
    w.update(failed_revisions=[*kept, record][-FAILED_REVISIONS_LIMIT:])
