"""Runs: recording what the Jobs say, and the manual and data-arrival triggers.

A run is recorded in ``status.batch.runs`` when it is decided (before its Job is created), so a crash
between the write and the create re-creates the same Job by name. Jobs a CronJob started are recorded when
first seen. Every run's end is an Event; a failed one is a Warning tagged ``RunFailed`` for notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from modeldeploy.api.batch import RUN_HISTORY_LIMIT
from modeldeploy.api.batch_status import BatchRun, BatchStatus, RunPhase
from modeldeploy.api.notifications import Trigger
from modeldeploy.api.status import HistoryEntry, ModelDeploymentStatus, truncate
from modeldeploy.rollout.actions import EmitEvent, EventType, RequeueAfter
from modeldeploy.rollout.batch_types import (
    DATA_ARRIVAL,
    MANUAL,
    VALIDATION,
    BatchAction,
    BatchInputs,
    JobSeen,
    StartRun,
    run_name,
    short_hash,
)

HISTORY_LIMIT = 20
# Azure ML data-arrival jobs running at once (one per file); later files wait below the watermark.
ARRIVALS_IN_FLIGHT = 4


@dataclass
class BatchWork:
    inputs: BatchInputs
    status: ModelDeploymentStatus
    actions: list[BatchAction] = field(default_factory=list)

    @property
    def batch(self) -> BatchStatus:
        return self.status.batch or BatchStatus()

    def set_batch(self, **changes: object) -> None:
        self.status = self.status.model_copy(update={"batch": self.batch.model_copy(update=changes)})

    def note(
        self,
        type_: EventType,
        reason: str,
        message: str,
        revision: str = "",
        notices: tuple[Trigger, ...] = (),
    ) -> None:
        self.actions.append(EmitEvent(type_, reason, message, notices, revision))
        entry = HistoryEntry(
            time=self.inputs.now,
            phase=self.status.phase,
            reason=reason,
            message=truncate(message),
            revision=revision,
        )
        self.status = self.status.model_copy(
            update={"history": [*self.status.history, entry][-HISTORY_LIMIT:]}
        )

    def start(self, run: StartRun, output: str) -> None:
        """Record ``run`` as Running and ask for its Job (the record first: see the module's note)."""
        record = BatchRun(
            name=run.name,
            revision=run.revision,
            trigger=run.trigger,
            input=truncate(_describe_input(run)),
            output=output,
            created_at=self.inputs.now,
            after=run.after,
            upto=run.upto,
        )
        self._put(record)
        self.actions.append(run)
        self.note(EventType.NORMAL, "RunStarted", f"run {run.name} ({run.trigger}) of {run.revision} started")

    def _put(self, record: BatchRun) -> None:
        runs = [r for r in self.batch.runs if r.name != record.name] + [record]
        # Oldest finished runs go first; a run still going is never forgotten (its Job is being watched).
        while len(runs) > RUN_HISTORY_LIMIT:
            victim = next((r for r in runs if r.done), runs[0])
            runs.remove(victim)
        self.set_batch(runs=runs)


def _describe_input(run: StartRun) -> str:
    if run.upto is None:
        return run.input
    if run.file_uri is not None:
        return run.file_uri
    return f"{run.input} (files after {run.after!r} up to {run.upto!r})"


def output_of(template: str, run: str) -> str:
    return f"{template.rstrip('/')}/{run}/"


def record_jobs(w: BatchWork) -> None:
    """Bring ``status.batch.runs`` up to what the Jobs say; an ended run is an Event (a failed one alerts)."""
    known = {r.name: r for r in w.batch.runs}
    for job in sorted(w.inputs.jobs, key=lambda j: (j.created_at is None, j.created_at, j.name)):
        before = known.get(job.name)
        if before is None:
            if _bounded_out(w, job):
                continue
            before = BatchRun(
                name=job.name,
                revision=job.revision,
                trigger=job.trigger,
                input=truncate(job.input),
                output=job.output,
                created_at=job.created_at or w.inputs.now,
            )
            w._put(before)
            w.note(
                EventType.NORMAL, "RunStarted", f"run {job.name} ({job.trigger}) of {job.revision} started"
            )
        if before.done:
            continue
        after = before.model_copy(
            update={
                "output": job.output or before.output,
                "phase": job.phase,
                "succeeded": job.succeeded,
                "failed": job.failed,
                "finished_at": job.finished_at if job.phase is not RunPhase.RUNNING else None,
                "message": truncate(job.message),
            }
        )
        if after == before:
            continue
        w._put(after)
        if job.phase is RunPhase.SUCCEEDED:
            w.note(
                EventType.NORMAL,
                "RunSucceeded",
                f"run {job.name} ({job.trigger}) succeeded; output {after.output}",
                job.revision,
            )
        elif job.phase is RunPhase.FAILED:
            w.note(
                EventType.WARNING,
                "RunFailed",
                f"run {job.name} ({job.trigger}) failed: {job.message or 'its Job failed'}",
                job.revision,
                (Trigger.RUN_FAILED,),
            )


def _bounded_out(w: BatchWork, job: JobSeen) -> bool:
    """A finished Job older than every run the full history keeps was recorded once and dropped by the
    bound; recording it again would push out a newer run. Any other unknown Job is new to the status."""
    runs = w.batch.runs
    oldest = min((r.created_at for r in runs if r.created_at is not None), default=None)
    return (
        job.phase is not RunPhase.RUNNING
        and len(runs) >= RUN_HISTORY_LIMIT
        and job.created_at is not None
        and oldest is not None
        and job.created_at < oldest
    )


def restart_missing(w: BatchWork) -> None:
    """A run recorded as started whose Job is not there (a crash after the status write): create it again."""
    seen = {j.name for j in w.inputs.jobs} | {a.name for a in w.actions if isinstance(a, StartRun)}
    for r in w.batch.runs:
        if r.done or r.name in seen:
            continue
        if r.trigger in (MANUAL, DATA_ARRIVAL, VALIDATION):
            w.actions.append(StartRun(r.name, r.revision, r.trigger, _input_uri(r.input), r.after, r.upto))
        else:  # a CronJob's Job deleted while running: nothing will bring it back
            w._put(r.model_copy(update={"phase": RunPhase.FAILED, "message": "its Job was deleted"}))
            w.note(
                EventType.WARNING,
                "RunFailed",
                f"run {r.name} ({r.trigger}) failed: its Job was deleted",
                r.revision,
                (Trigger.RUN_FAILED,),
            )
    if any(not r.done for r in w.batch.runs):
        w.actions.append(RequeueAfter(w.inputs.plan.run_poll))


def _input_uri(described: str) -> str:
    return described.split(" (", 1)[0]


def refuse_online_request(w: BatchWork) -> None:
    """``kubectl mdep promote|abort|...`` on a batch model: answered, so the CLI does not wait in vain."""
    req = w.status.request
    if req is None or req.id == w.status.last_handled_request_id:
        return
    result = f"rejected: {req.action.value} is for online models; a batch model takes kubectl mdep run"
    w.status = w.status.model_copy(
        update={"last_handled_request_id": req.id, "last_handled_request_result": result}
    )


def handle_request(w: BatchWork) -> None:
    """``kubectl mdep run``: one run of the default revision per request id."""
    req = w.batch.run_request
    if req is None or req.id == w.batch.last_handled_run_id:
        return
    stable = w.status.stable
    uri = req.input or w.inputs.plan.default_input
    if stable is None:
        result = "refused: no revision is the default yet"
    elif w.inputs.request_refusal is not None:
        result = f"refused: {w.inputs.request_refusal}"
    elif uri is None:
        result = "refused: no --input given and spec.batch.input is not set"
    else:
        name = run_name(w.inputs.owner, f"m-{short_hash(req.id)}")
        w.start(StartRun(name, stable.name, MANUAL, uri), output_of(w.inputs.plan.output, name))
        result = f"started run {name}"
    if result.startswith("refused"):
        w.note(EventType.WARNING, "RunRefused", f"run request {req.id} {result}")
    w.set_batch(last_handled_run_id=req.id, last_handled_run_result=truncate(result))


def handle_arrivals(w: BatchWork) -> None:
    """New files under ``batch.dataArrival.uri`` (names above the watermark): one run for up to
    ``maxFilesPerRun`` of them, or on Azure ML one run per file (up to ``maxFilesPerRun`` per poll and
    ``ARRIVALS_IN_FLIGHT`` running); the first poll only sets the watermark (files there are history)."""
    plan, arrivals = w.inputs.plan, w.inputs.arrivals
    if plan.poll_interval is None or arrivals is None:
        return
    w.set_batch(next_poll_at=w.inputs.now + timedelta(seconds=plan.poll_interval))
    if w.batch.watermark is None:
        w.set_batch(watermark=arrivals[-1] if arrivals else "")
        return
    stable = w.status.stable
    if not arrivals or stable is None:
        return  # without a default revision the files wait: the watermark stays below them
    if plan.file_per_run:
        # Each file its own run, and few at once: status keeps every run still going, within its bound.
        going = sum(1 for r in w.batch.runs if r.trigger == DATA_ARRIVAL and not r.done)
        room = max(0, min(plan.max_files, ARRIVALS_IN_FLIGHT - going))
        ranges = _single_files(w.batch.watermark, arrivals[:room])
    else:
        ranges = [(w.batch.watermark, arrivals[: plan.max_files][-1])]
    for after, upto in ranges:
        name = run_name(w.inputs.owner, f"d-{short_hash(upto)}")
        run = StartRun(name, stable.name, DATA_ARRIVAL, plan.watched, after, upto, plan.file_per_run)
        w.start(run, output_of(plan.output, name))
        w.set_batch(watermark=upto)


def _single_files(watermark: str, files: tuple[str, ...]) -> list[tuple[str, str]]:
    """(after, upto] ranges holding one file each, in order from ``watermark``."""
    return list(zip((watermark, *files), files, strict=False))  # the first list is one longer
