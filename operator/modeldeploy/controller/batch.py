"""One reconcile of a batch ModelDeployment: observe, decide (``rollout.batch``), record, act.

The order is the online reconciler's: the decided status (runs recorded as started, the watermark moved,
a revision failed) is written by compare-and-swap before any Job is created or any template deleted, so a
crash re-creates the same Jobs by name and never starts a run twice nor forgets one.

API cost per reconcile: one LIST of PodTemplates and one of Jobs (both by label), plus one listing of the
watched folder when a data-arrival poll is due; a status write only when something changed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from modeldeploy.api import patterns
from modeldeploy.api.batch_status import BatchStatus
from modeldeploy.api.cron import Cron
from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import ConditionStatus, ModelDeploymentStatus, Verdict
from modeldeploy.controller.messages import with_condition
from modeldeploy.controller.translate import desired_revision
from modeldeploy.ports import BackendError, BatchBackend, BatchData, EventSink, Owner, StatusStore
from modeldeploy.rollout.actions import EmitEvent, EventType, RequeueAfter
from modeldeploy.rollout.batch import decide_batch
from modeldeploy.rollout.batch_types import (
    AZURE_RUN_POLL,
    RUN_POLL,
    ApplySchedules,
    BatchInputs,
    BatchPlan,
    CompareRuns,
    ComparisonSeen,
    DeleteBatchRevision,
    EnsureBatchRevision,
    JobSeen,
    StartRun,
)

if TYPE_CHECKING:
    from modeldeploy.controller.reconciler import NotifierLike, Outcome

log = logging.getLogger(__name__)
MAX_PASSES = 3
# How far ahead a schedule's next time is looked for (minute by minute); later ones wait for the resync.
SCHEDULE_HORIZON = timedelta(hours=24)
# A revision the backend is still provisioning (an Azure ML batch deployment) is looked at again this often.
PROVISION_POLL = 15.0
_DATA_URI = re.compile(patterns.DATA_URI)


class UriGuard(Protocol):
    def __call__(self, owner: Owner, spec: ModelDeploymentSpec, uri: str) -> str | None: ...


def next_fire(spec: ModelDeploymentSpec, now: datetime) -> datetime | None:
    """The earliest schedule time after ``now`` within SCHEDULE_HORIZON (each cron read in its zone)."""
    assert spec.batch is not None
    best: datetime | None = None
    for s in spec.batch.schedules:
        if s.cron is None:  # a recurrence (Azure ML): its runs are recorded when seen, at latest at resync
            continue
        cron, zone = Cron.parse(s.cron.expression), ZoneInfo(s.cron.time_zone)
        t = now.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = t + SCHEDULE_HORIZON
        while t < end and (best is None or t < best):
            if cron.matches(t):
                best = t
                break
            t += timedelta(minutes=1)
    return best


def batch_plan(spec: ModelDeploymentSpec, now: datetime) -> BatchPlan:
    b = spec.batch
    assert b is not None
    r, arrival = b.rollout, b.data_arrival
    schedules = ",".join(f"{s.name}={s.key()}" for s in b.schedules)
    return BatchPlan(
        rollout=r is not None,
        default_input=b.input,
        output=b.output.uri,
        rollout_input=r.input if r is not None else "",
        max_row_count_delta=r.max_row_count_delta if r is not None else 0.0,
        max_error_rate=r.max_error_rate if r is not None else 0.0,
        poll_interval=parse_duration(arrival.poll_interval) if arrival is not None else None,
        watched=arrival.uri if arrival is not None else "",
        max_files=arrival.max_files_per_run if arrival is not None else 0,
        file_per_run=spec.target.azureml is not None,
        schedules_key=f"{schedules}|{b.input or ''}",
        next_fire=next_fire(spec, now),
        run_poll=AZURE_RUN_POLL if spec.target.azureml is not None else RUN_POLL,
    )


class BatchReconciler:
    def __init__(
        self,
        backend: Callable[[Owner, ModelDeploymentSpec], BatchBackend],
        data: BatchData,
        store: StatusStore,
        events: EventSink,
        clock: Callable[[], datetime],
        notifier: NotifierLike | None = None,
        uri_guard: UriGuard | None = None,
        count: Callable[[str, str, str, str], None] | None = None,
    ) -> None:
        """``uri_guard``: the policy's answer for a URI written into status (a manual run's --input), which
        the check of the spec cannot see. ``count``: (namespace, name, trigger kind, outcome) per ended
        run."""
        self.backend, self.data, self.store, self.events = backend, data, store, events
        self.clock, self.notifier, self.uri_guard, self.count = clock, notifier, uri_guard, count

    def run(self, owner: Owner, spec: ModelDeploymentSpec, generation: int, outcome: Outcome) -> None:
        backend = self.backend(owner, spec)
        now = self.clock()
        batch = outcome.status.batch or BatchStatus()
        inputs = BatchInputs(
            generation=generation,
            owner=owner.name,
            desired=desired_revision(owner.name, spec),
            plan=batch_plan(spec, now),
            status=outcome.status,
            now=now,
            revisions=backend.revisions(owner),
            jobs=backend.runs(owner),
            request_refusal=self._request_refusal(owner, spec, batch),
        )
        if inputs.plan.poll_interval is not None and (
            batch.next_poll_at is None or batch.next_poll_at <= now
        ):
            inputs = replace(inputs, arrivals=self._poll(owner, spec, batch))
        confirmed = False
        for _ in range(MAX_PASSES):
            decision = decide_batch(inputs)
            status = with_condition(
                decision.status, "SpecValid", ConditionStatus.TRUE, "Valid", "", generation, inputs.now
            )
            self._count_ended(owner, outcome.status.batch, status.batch)
            if status != outcome.status:
                self._write(owner, outcome, status)
                confirmed = True
            mutating = any(
                isinstance(a, (EnsureBatchRevision, StartRun, ApplySchedules, DeleteBatchRevision))
                for a in decision.actions
            )
            if mutating and not confirmed:
                self.store.confirm_current(owner, outcome.resource_version)
                confirmed = True
            comparison: ComparisonSeen | None = None
            revisions, jobs = set(inputs.revisions), list(inputs.jobs)
            outcome.requeue_after = None
            provisioning = False
            for action in decision.actions:
                outcome.actions_run.append(type(action).__name__)
                match action:
                    case EnsureBatchRevision(name=name):
                        if backend.ensure_revision(owner, name, spec) is False:
                            provisioning = True  # not a revision yet: nothing may run it or default to it
                        else:
                            revisions.add(name)
                    case StartRun():
                        backend.start_run(owner, spec, action)
                        jobs.append(
                            JobSeen(action.name, action.revision, action.trigger, created_at=inputs.now)
                        )
                    case ApplySchedules(revision=revision, key=key):
                        backend.apply_schedules(owner, spec, revision)
                        done = (outcome.status.batch or BatchStatus()).model_copy(
                            update={"schedules_applied": key}
                        )
                        self._write(owner, outcome, outcome.status.model_copy(update={"batch": done}))
                    case CompareRuns():
                        comparison = self._compare(owner, spec, outcome, action)
                    case DeleteBatchRevision(name=name):
                        backend.delete_revision(owner, name)
                        revisions.discard(name)
                    case EmitEvent():
                        self._emit(owner, spec, action, inputs.now)
                    case RequeueAfter(seconds=seconds):
                        outcome.requeue_after = seconds
            if provisioning:
                outcome.requeue_after = min(outcome.requeue_after or PROVISION_POLL, PROVISION_POLL)
            # Another pass only when the machine can use what this one did: a comparison's result, or a
            # template that now exists (the first revision becomes the default without waiting a requeue).
            if comparison is None and revisions <= set(inputs.revisions):
                return
            now = self.clock()
            inputs = replace(
                inputs,
                status=outcome.status,
                now=now,
                revisions=frozenset(revisions),
                jobs=tuple(jobs),
                arrivals=None,
                comparison=comparison,
                plan=batch_plan(spec, now),
            )

    def _write(self, owner: Owner, outcome: Outcome, status: ModelDeploymentStatus) -> None:
        outcome.resource_version = self.store.write_status(
            owner, outcome.resource_version, status, outcome.status
        )
        outcome.status = status

    def _compare(
        self, owner: Owner, spec: ModelDeploymentSpec, outcome: Outcome, action: CompareRuns
    ) -> ComparisonSeen:
        runs = {r.name: r for r in (outcome.status.batch or BatchStatus()).runs}
        try:
            return self.data.compare(
                owner, spec, runs[action.stable_run].output, runs[action.candidate_run].output
            )
        except Exception as exc:  # a reader bug must not retry the reconcile forever: it is a failed look
            log.warning("comparison of %s failed", action.candidate, exc_info=True)
            return ComparisonSeen(
                Verdict.INCONCLUSIVE, f"comparison failed to run: {type(exc).__name__}: {exc}"
            )

    def _poll(self, owner: Owner, spec: ModelDeploymentSpec, batch: BatchStatus) -> tuple[str, ...] | None:
        try:
            return self.data.arrivals(owner, spec, batch.watermark)
        except BackendError as exc:
            # Not a reconcile error: manual runs and rollouts go on; the poll is tried at the next resync.
            self.events.emit(owner, EventType.WARNING, "DataArrivalPollFailed", str(exc))
            return None

    def _request_refusal(self, owner: Owner, spec: ModelDeploymentSpec, batch: BatchStatus) -> str | None:
        req = batch.run_request
        if req is None or req.id == batch.last_handled_run_id or req.input is None:
            return None
        # The request is status, written by whoever may patch it: checked as strictly as a spec field.
        if len(req.input) > 2048 or not _DATA_URI.match(req.input):
            return "--input must be a data URI (file:///, https://, abfss://, wasbs:// or azureml://)"
        return self.uri_guard(owner, spec, req.input) if self.uri_guard is not None else None

    def _emit(self, owner: Owner, spec: ModelDeploymentSpec, event: EmitEvent, now: datetime) -> None:
        self.events.emit(owner, event.type, event.reason, event.message)
        if event.notices and self.notifier is not None:
            self.notifier.notify(owner, spec, event, now)

    def _count_ended(self, owner: Owner, before: BatchStatus | None, after: BatchStatus | None) -> None:
        if self.count is None or after is None:
            return
        done_before = {r.name for r in (before.runs if before else []) if r.done}
        for r in after.runs:
            if r.done and r.name not in done_before:
                # The trigger's kind, not its name: a handful of label values, not one per schedule.
                self.count(owner.namespace, owner.name, r.trigger.split("/", 1)[0], r.phase.value.lower())
