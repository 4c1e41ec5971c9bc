"""``spec.batch``: a model that scores data in runs instead of answering requests.

A batch ModelDeployment has no ``strategy`` (no traffic to shift): a new revision is run on ``rollout.input``
beside the revision that is the endpoint's default, their outputs are compared, and only a revision that
passes becomes the default. Runs are started by ``schedules``, by hand (``kubectl mdep run``) and by new
files under ``dataArrival.uri``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from . import patterns
from .base import ApiModel, cel
from .duration import Bounds, Duration
from .scaling import cron_expression, iana_zone
from .strategy import DistributionTest

_COLUMN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
# Runs kept in status.batch.runs: enough to read a day of hourly runs, small enough for an object.
RUN_HISTORY_LIMIT = 20


class CronTrigger(ApiModel):
    """Five-field cron, evaluated in ``timeZone`` (the CronJob's ``timeZone``)."""

    expression: Annotated[str, cron_expression("batch.schedules[].cron.expression")] = Field(
        pattern=patterns.CRON, max_length=128, description='Five fields, e.g. "0 2 * * *".'
    )
    time_zone: Annotated[str, iana_zone("batch.schedules[].cron.timeZone")] = Field(
        "UTC", pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", max_length=64
    )


WeekDay = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class RecurrenceTrigger(ApiModel):
    """Every ``interval`` ``frequency``, at ``hours`` and ``minutes`` (day, week, month) on ``weekDays``
    (week), in ``timeZone``: Azure ML's recurrence trigger, so azureml targets only."""

    frequency: Literal["minute", "hour", "day", "week", "month"]
    interval: int = Field(1, ge=1, le=1000)
    hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(default_factory=list, max_length=24)
    minutes: list[Annotated[int, Field(ge=0, le=59)]] = Field(default_factory=list, max_length=60)
    week_days: list[WeekDay] = Field(default_factory=list, max_length=7)
    time_zone: Annotated[str, iana_zone("batch.schedules[].recurrence.timeZone")] = Field(
        "UTC", pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", max_length=64
    )

    @cel(
        "size(self.weekDays) == 0 || self.frequency == 'week'",
        "recurrence.weekDays needs frequency week",
        field_path=".weekDays",
    )
    def _week_days_weekly(self) -> bool:
        return not self.week_days or self.frequency == "week"

    @cel(
        "(size(self.hours) == 0 && size(self.minutes) == 0) || self.frequency in ['day', 'week', 'month']",
        "recurrence.hours and recurrence.minutes need frequency day, week or month",
        field_path=".frequency",
    )
    def _times_of_day(self) -> bool:
        return (not self.hours and not self.minutes) or self.frequency in ("day", "week", "month")


class BatchSchedule(ApiModel):
    """A run of the default revision on ``batch.input`` at every ``cron`` time (a CronJob per schedule on
    Kubernetes, a JobSchedule on Azure ML), or every ``recurrence`` (Azure ML only)."""

    name: str = Field(pattern=patterns.DNS_LABEL, max_length=20)
    cron: CronTrigger | None = None
    recurrence: RecurrenceTrigger | None = None

    @cel(
        "has(self.cron) != has(self.recurrence)",
        "batch.schedules[] needs exactly one of cron and recurrence",
    )
    def _one_trigger(self) -> bool:
        return (self.cron is None) != (self.recurrence is None)

    @property
    def time_zone(self) -> str:
        trigger = self.cron or self.recurrence
        assert trigger is not None  # the rule above
        return trigger.time_zone

    def key(self) -> str:
        """What the schedule is: a change re-applies the schedules (cron ones keep their old keys)."""
        if self.cron is not None:
            return f"{self.cron.expression}@{self.cron.time_zone}"
        assert self.recurrence is not None
        return "recurrence:" + self.recurrence.model_dump_json(by_alias=True)


class BatchOutput(ApiModel):
    """Where a run writes: ``{uri}/{run}/{fileName}``. ``appendRow`` writes every scored row (Azure ML's
    append_row), ``summaryOnly`` only the run's summary (no per-row file, so no prediction comparison)."""

    uri: str = Field(
        pattern=patterns.DATA_URI,
        max_length=2048,
        description="A folder; {namespace}, {name} and {revision} are filled in; each run adds /<run>/.",
    )
    action: Literal["appendRow", "summaryOnly"] = "appendRow"
    file_name: str = Field(
        "predictions.csv", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.csv$", max_length=132
    )
    columns: list[Annotated[str, Field(pattern=_COLUMN, max_length=128)]] | None = Field(
        None,
        max_length=64,
        description="The output's column names in order when its files have no header row (Azure ML's "
        "append_row file has none); unset: the first row names them.",
    )


class BatchRetries(ApiModel):
    """``maxRetries`` is the Job's backoffLimit (failed pods retried), ``timeout`` its activeDeadlineSeconds
    (the run fails when it is still going then)."""

    max_retries: int = Field(3, ge=0, le=10)
    timeout: Annotated[Duration, Bounds("batch.retries.timeout", "10s", "24h")] = "30m"


class PredictionCheck(ApiModel):
    """The candidate's prediction distribution against the default revision's, on the same input."""

    column: str = Field("prediction", pattern=_COLUMN, max_length=128)
    type: Literal["numerical", "categorical"] = "numerical"
    test: DistributionTest = "jensenShannon"
    threshold: float = Field(0.1, gt=0, le=100)
    min_samples: int = Field(50, ge=1, le=1_000_000)


class BatchRollout(ApiModel):
    """How a new revision earns the default: both revisions score ``input``, then the outputs are held to
    these bounds. Any bound crossed fails the revision and the default stays."""

    input: str = Field(pattern=patterns.DATA_URI, max_length=2048, description="The validation input.")
    max_row_count_delta: float = Field(
        0.0, ge=0, le=1, description="|candidate rows - default rows| / default rows at most this."
    )
    max_error_rate: float = Field(0.0, ge=0, le=1, description="Failed share of the candidate's run.")
    predictions: PredictionCheck = Field(default_factory=PredictionCheck)


class DataArrival(ApiModel):
    """Start runs for files that appear under ``uri``: a bounded poll with a name watermark in status.
    On a kubernetes target one run scores up to ``maxFilesPerRun`` new files (a name range); on an azureml
    target each new file is its own batch job (a job takes one input), a few in flight at a time."""

    uri: str = Field(
        pattern=patterns.DATA_URI,
        max_length=2048,
        description="A folder or glob (an azureml target: an azureml://datastores/ folder, no glob).",
    )
    poll_interval: Annotated[Duration, Bounds("batch.dataArrival.pollInterval", "5s", "24h")] = "5m"
    max_files_per_run: int = Field(
        100,
        ge=1,
        le=1000,
        description="Files one run scores (kubernetes); on an azureml target, the most runs one poll starts.",
    )


class BatchScoring(ApiModel):
    """Batch scoring: one deployment per revision, runs on a trigger, rolled out by comparing outputs."""

    input: str | None = Field(
        None,
        pattern=patterns.DATA_URI,
        max_length=2048,
        description="What schedules and a manual run without --input score.",
    )
    output: BatchOutput
    mini_batch_size: int = Field(
        10, ge=1, le=100_000, description="Rows per mini-batch (KDAP_MINI_BATCH_SIZE in the scoring pod)."
    )
    instance_count: int = Field(
        1,
        ge=1,
        le=100,
        description="Pods per run (an Indexed Job: each scores its JOB_COMPLETION_INDEX share).",
    )
    retries: BatchRetries = Field(default_factory=BatchRetries)
    compute: str | None = Field(
        None,
        pattern=r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$",
        max_length=32,
        description="The Azure ML compute cluster the revision's batch deployment runs on (azureml targets "
        "only, and required there): the platform's CPU or spot GPU cluster.",
    )
    schedules: list[BatchSchedule] = Field(
        default_factory=list,
        max_length=8,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    data_arrival: DataArrival | None = None
    rollout: BatchRollout | None = None

    @cel(
        "self.schedules.all(s, self.schedules.exists_one(t, t.name == s.name))",
        "batch.schedules[].name must be unique (each is one CronJob)",
        field_path=".schedules",
    )
    def _schedule_names_unique(self) -> bool:
        names = [s.name for s in self.schedules]
        return len(names) == len(set(names))

    @cel(
        "size(self.schedules) == 0 || has(self.input)",
        "batch.schedules need batch.input (what a scheduled run scores)",
        field_path=".input",
    )
    def _schedules_need_input(self) -> bool:
        return not self.schedules or self.input is not None

    @cel(
        "!has(self.rollout) || self.output.action == 'appendRow'",
        "batch.rollout compares scored rows, so batch.output.action must be appendRow",
        field_path=".rollout",
    )
    def _rollout_needs_rows(self) -> bool:
        return self.rollout is None or self.output.action == "appendRow"

    @cel(
        "!has(self.rollout) || !has(self.output.columns) || "
        "self.output.columns.exists(c, c == self.rollout.predictions.column)",
        "batch.rollout.predictions.column must be one of batch.output.columns (the names of a headerless "
        "output's columns)",
        field_path=".rollout",
    )
    def _prediction_column_named(self) -> bool:
        columns, r = self.output.columns, self.rollout
        return r is None or columns is None or r.predictions.column in columns
