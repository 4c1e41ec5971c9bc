"""The batch machine's inputs and actions (values only: the machine in ``batch.py`` does no I/O)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from modeldeploy.api.batch_status import RunPhase
from modeldeploy.api.status import ModelDeploymentStatus, Verdict
from modeldeploy.rollout.actions import EmitEvent, RequeueAfter
from modeldeploy.rollout.revision import DesiredRevision

# A CronJob name may have 52 characters (its Jobs add 11); run and schedule names are kept under that.
MAX_RUN_NAME = 52
# Outputs not readable yet (an object store's listing lags the writer) are looked for again this often,
# and the candidate fails after this many looks: a missing output is then a broken revision.
COMPARE_RETRY = 10.0
COMPARE_ATTEMPTS = 6
# While a run is in flight its Job is read again this often (no watch on Jobs: see the README). An Azure ML
# job is read through ARM, whose reads are throttled per subscription and whose jobs last minutes: slower.
RUN_POLL = 5.0
AZURE_RUN_POLL = 30.0
VALIDATION = "validation"
MANUAL = "manual"
DATA_ARRIVAL = "dataArrival"


def run_name(owner: str, tag: str) -> str:
    """``<owner>-<tag>``, the owner part cut so the name fits a CronJob's 52 characters."""
    room = MAX_RUN_NAME - len(tag) - 1
    prefix = owner[:room].rstrip("-") or "m"
    return f"{prefix}-{tag}"


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def schedule_trigger(schedule: str) -> str:
    return f"schedule/{schedule}"


@dataclass(frozen=True)
class JobSeen:
    """A run's Job as the cluster shows it (labels and annotations the operator or a CronJob wrote)."""

    name: str
    revision: str
    trigger: str
    input: str = ""
    output: str = ""
    phase: RunPhase = RunPhase.RUNNING
    created_at: datetime | None = None
    finished_at: datetime | None = None
    succeeded: int = 0
    failed: int = 0
    message: str = ""


@dataclass(frozen=True)
class ComparisonSeen:
    """What reading both validation outputs found (analysis/batch_compare.py)."""

    verdict: Verdict
    message: str
    stable_rows: int | None = None
    candidate_rows: int | None = None
    prediction_statistic: float | None = None


@dataclass(frozen=True)
class BatchPlan:
    """The parts of ``spec.batch`` decisions depend on. ``schedulesKey`` changes when the CronJobs must."""

    rollout: bool
    default_input: str | None
    output: str
    rollout_input: str = ""
    max_row_count_delta: float = 0.0
    max_error_rate: float = 0.0
    poll_interval: float | None = None
    watched: str = ""
    max_files: int = 100
    file_per_run: bool = False  # Azure ML: a batch job takes one input, so each new file is a run
    schedules_key: str = ""
    next_fire: datetime | None = None
    run_poll: float = RUN_POLL


@dataclass(frozen=True)
class BatchInputs:
    """``jobs`` None: not listed this pass. ``arrivals``: names above the watermark, sorted (None: not
    polled). ``request_refusal``: why the pending run request's input is refused (the policy's words)."""

    generation: int
    owner: str
    desired: DesiredRevision
    plan: BatchPlan
    status: ModelDeploymentStatus
    now: datetime
    revisions: frozenset[str]
    jobs: tuple[JobSeen, ...]
    arrivals: tuple[str, ...] | None = None
    comparison: ComparisonSeen | None = None
    request_refusal: str | None = None


@dataclass(frozen=True)
class EnsureBatchRevision:
    """Keep the revision's pod template (what its runs are made from)."""

    name: str


@dataclass(frozen=True)
class DeleteBatchRevision:
    name: str


@dataclass(frozen=True)
class StartRun:
    """Create the run's Job from ``revision``'s template; an existing Job of that name is left as it is.
    A data-arrival run scores the file names in (``after``, ``upto``] under ``input``: a range, so the
    Job (and its re-creation after a crash) needs no list of files."""

    name: str
    revision: str
    trigger: str
    input: str
    after: str | None = None
    upto: str | None = None
    one_file: bool = False  # (after, upto] holds the one file ``upto`` (Azure ML: a job takes one input)

    @property
    def file_uri(self) -> str | None:
        """The one file a one-file run scores, as a URI under ``input``."""
        return f"{self.input.rstrip('/')}/{self.upto}" if self.one_file and self.upto is not None else None


@dataclass(frozen=True)
class ApplySchedules:
    """One CronJob per ``batch.schedules`` entry on the default ``revision``; others removed."""

    revision: str
    key: str


@dataclass(frozen=True)
class CompareRuns:
    candidate: str
    stable: str
    candidate_run: str
    stable_run: str


BatchAction = (
    EnsureBatchRevision
    | StartRun
    | ApplySchedules
    | CompareRuns
    | DeleteBatchRevision
    | EmitEvent
    | RequeueAfter
)

_ORDER: dict[type, int] = {
    EnsureBatchRevision: 0,
    StartRun: 1,
    ApplySchedules: 2,
    CompareRuns: 3,
    DeleteBatchRevision: 4,
    EmitEvent: 5,
    RequeueAfter: 6,
}


def ordered(actions: list[BatchAction]) -> tuple[BatchAction, ...]:
    return tuple(sorted(actions, key=lambda a: _ORDER[type(a)]))


@dataclass(frozen=True)
class BatchDecision:
    status: ModelDeploymentStatus
    actions: tuple[BatchAction, ...]
