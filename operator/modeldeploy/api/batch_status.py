"""``status.batch``: what a batch ModelDeployment must remember across restarts.

The default revision (what schedules, manual and data-arrival runs score with) is ``status.stable``; a
revision under comparison is ``status.candidate``; a revision that failed its comparison is in
``status.failedRevisions`` like an online one. This block adds the runs, the manual run request, the
data-arrival watermark and the last comparison.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class RunPhase(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class BatchRun(_Model):
    """One run (one Job). ``trigger``: ``schedule/<name>``, ``manual``, ``dataArrival`` or ``validation``;
    ``succeeded``/``failed`` count its pods, so ``errorRate`` is failed over both."""

    name: str
    revision: str = ""
    trigger: str = ""
    input: str = ""
    output: str = ""
    phase: RunPhase = RunPhase.RUNNING
    created_at: datetime | None = None
    finished_at: datetime | None = None
    succeeded: int = 0
    failed: int = 0
    message: str = ""
    after: str | None = Field(None, description="dataArrival: scores file names above this one ...")
    upto: str | None = Field(None, description="... up to and including this one.")

    @property
    def error_rate(self) -> float:
        total = self.succeeded + self.failed
        return self.failed / total if total else 0.0

    @property
    def done(self) -> bool:
        return self.phase is not RunPhase.RUNNING


class RunRequest(_Model):
    """Written by ``kubectl mdep run`` through the status subresource (GitOps tools do not own status);
    handled once per ``id``. ``input`` is checked against the namespace's policy like a spec URI."""

    id: str
    input: str | None = None
    requested_at: datetime | None = None


class BatchComparison(_Model):
    """A candidate's validation run against the default revision's on ``batch.rollout.input``.

    ``verdict``: Successful, Failed, or Inconclusive while the outputs cannot be read yet (``attempts``).
    """

    candidate: str = ""
    stable: str = ""
    candidate_run: str = ""
    stable_run: str = ""
    verdict: str = "Inconclusive"
    message: str = ""
    stable_rows: int | None = None
    candidate_rows: int | None = None
    error_rate: float | None = None
    prediction_statistic: float | None = None
    attempts: int = 0
    time: datetime | None = None


class BatchStatus(_Model):
    runs: list[BatchRun] = Field(default_factory=list)
    run_request: RunRequest | None = None
    last_handled_run_id: str | None = None
    last_handled_run_result: str = ""
    watermark: str | None = Field(
        None, description="The greatest file name under batch.dataArrival.uri already scored."
    )
    next_poll_at: datetime | None = None
    schedules_applied: str | None = Field(
        None, description="The default revision and schedules the CronJobs were last applied for."
    )
    comparison: BatchComparison | None = None
