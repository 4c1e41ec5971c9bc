"""Drift windows too large for the operator's process go to Spark, next to the data.

Before reading, the window's files are listed with their sizes (a listing, not a download). When the
reference or the live window holds more than ``Pushdown.max_bytes``, the analysis is submitted as a Spark
job (``spark_job.py``) and the run raises ``AnalysisPending``: the controller requeues the object and its
worker goes on to other objects. Each later run polls the job once, without waiting; when it has finished its
summary (a few KB) becomes a drift result through the in-process engine's own functions
(``summary.result_from_summary``). A job that fails, cannot be submitted or outlives ``timeout_seconds`` is
Inconclusive, never a rollback.

``LocalSpark`` runs the job with pyspark in local mode in a child process (tests, the demo, Kubernetes
targets without a Spark pool); ``azureml_spark.AzureMLSpark`` submits it to Azure ML serverless Spark.
A window is pushed down as the files the in-process reader would read (``window_files``): a plain file,
folder or glob, an MLTable's ``paths``, or the data collector's hour folders for the live window, with how
to read them; what Spark cannot read as the operator does is read in-process, and the engine says why.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

from modeldeploy.ports import AnalysisPending

from .types import DriftConfig, DriftResult, FeatureKind, Verdict
from .window_files import WindowFiles, window_files

SCRIPT = Path(__file__).with_name("spark_job.py")
JVM_EXIT_SECONDS = 15.0  # how long a finished job's JVM may take to exit before it is ended


class JobStatus(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class JobState:
    status: JobStatus
    summary: Mapping[str, Any] | None = None
    message: str = ""


class SparkJobs(Protocol):
    """Where Spark jobs run. Every call returns promptly: ``state`` asks, it never waits for the job."""

    def submit(self, request: Mapping[str, Any]) -> str: ...
    def state(self, job: str) -> JobState: ...
    def cancel(self, job: str) -> None: ...


def human(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


@dataclass
class _Submitted:
    job: str
    started: float
    why: str


@dataclass
class Pushdown:
    """``max_bytes``: the largest window (reference or live, in file bytes) analysed in-process."""

    jobs: SparkJobs
    max_bytes: int
    poll_seconds: float = 10.0
    timeout_seconds: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _running: _Submitted | None = field(default=None, init=False)
    in_process: str = field(default="in-process", init=False)  # why the last run stayed here

    def route(
        self, config: DriftConfig, reference: object, live: object, start: datetime, end: datetime
    ) -> tuple[WindowFiles, WindowFiles, str] | None:
        """The windows' files and why they go to Spark, or None to analyse in-process (``in_process`` then
        says why). ``start``, ``end``: the live window (a data collector folder is listed by hour)."""
        if self._running is not None:
            return None  # a job is out: run() polls it; no listing needed
        if not config.features:
            # Which columns to test (and their kinds) comes from the data in-process; the job is told.
            self.in_process = "in-process: the spec names no features; the Spark job tests named ones only"
            return None
        ref, lv = window_files(reference, False, start, end), window_files(live, True, start, end)
        limit = human(self.max_bytes)
        if isinstance(ref, str) or isinstance(lv, str):
            self.in_process = f"in-process: {ref if isinstance(ref, str) else lv}"
            return None
        largest = max(ref.size, lv.size)
        if largest <= self.max_bytes:
            self.in_process = f"in-process: each window is within the {limit} pod limit"
            return None
        side = "live window" if lv.size >= ref.size else "reference"
        return ref, lv, f"spark: the {side} is {human(largest)}, over the {limit} pod limit"

    @property
    def running(self) -> bool:
        return self._running is not None

    def submit(self, config: DriftConfig, ref: WindowFiles, live: WindowFiles, why: str) -> None:
        """Raises ``AnalysisPending`` once submitted (a submission that fails raises what the jobs raised)."""
        every = config.features + config.prediction_features
        categorical = [f.name for f in every if f.kind is FeatureKind.CATEGORICAL]
        numerical = [f.name for f in every if f.kind is not FeatureKind.CATEGORICAL]
        request = {
            "reference": list(ref.paths),
            "reference_format": ref.fmt,
            "live": list(live.paths),
            "live_format": live.fmt,
            **({"reference_options": dict(ref.options)} if ref.options else {}),
            **({"live_options": dict(live.options)} if live.options else {}),
            "numerical": numerical,
            "categorical": categorical,
            "n_bins": config.n_bins,
        }
        job = self.jobs.submit(request)
        self._running = _Submitted(job, self.clock(), why)
        raise AnalysisPending(self.poll_seconds, f"drift: Spark job {job} submitted ({why})")

    def cancel(self) -> None:
        """Cancel the running job, if any (best effort: a failed cancel leaves it to its own timeout)."""
        run, self._running = self._running, None
        if run is not None:
            with contextlib.suppress(Exception):  # nothing to report it to; the job ends on its own
                self.jobs.cancel(run.job)

    def poll(self, config: DriftConfig) -> DriftResult:
        """The finished job's result (Inconclusive when it failed or ran too long); ``AnalysisPending``
        while it runs."""
        from .summary import result_from_summary

        run = self._running
        assert run is not None
        try:
            state = self.jobs.state(run.job)
        except Exception as exc:  # a status call that fails is asked again next time, until the timeout
            state = JobState(JobStatus.RUNNING, message=f"{type(exc).__name__}: {exc}")
        if state.status is JobStatus.RUNNING:
            if self.clock() - run.started <= self.timeout_seconds:
                raise AnalysisPending(self.poll_seconds, f"drift: Spark job {run.job} running ({run.why})")
            self.cancel()
            msg = f"drift not evaluated: Spark job {run.job} ran longer than {self.timeout_seconds:.0f} s"
            return DriftResult(Verdict.INCONCLUSIVE, (), message=msg + "; it was cancelled")
        self._running = None
        if state.status is JobStatus.FAILED or state.summary is None:
            msg = f"drift not evaluated: Spark job {run.job} failed: {state.message or 'no summary'}"
            return DriftResult(Verdict.INCONCLUSIVE, (), message=msg[:1000])
        if "reference_columns" in state.summary:  # features the reference lacks: the in-process Error
            from .drift import feature_list

            try:
                feature_list(config, dict.fromkeys(state.summary["reference_columns"]))
            except ValueError as exc:
                return DriftResult(Verdict.ERROR, (), message=f"drift not evaluated: {exc}")
        if "failed" in state.summary:  # the job could not read or analyse the data, and says why
            msg = f"drift not evaluated: Spark job {run.job} failed: {state.summary['failed']}"
            return DriftResult(Verdict.INCONCLUSIVE, (), message=msg[:1000])
        if "unavailable" in state.summary:  # the job read the window and found what in-process would refuse
            return DriftResult(
                Verdict.INCONCLUSIVE, (), message=f"drift not evaluated: {state.summary['unavailable']}"
            )
        return stamp(result_from_summary(config, state.summary), run.why)


def stamp(result: DriftResult, engine: str) -> DriftResult:
    """Every feature result says which engine computed it, and why that one."""
    import dataclasses

    def each(fs: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(dataclasses.replace(f, engine=engine) for f in fs)

    return dataclasses.replace(result, features=each(result.features), predictions=each(result.predictions))


class LocalSpark:
    """pyspark in local mode, in a child process of the operator: its memory is the child's (the operator's
    own stays small), and ``state`` is a non-blocking ``poll`` of the child."""

    def __init__(self, workdir: str, cores: int = 2, driver_memory: str = "1g", python: str = sys.executable):
        self.workdir, self.cores, self.driver_memory, self.python = (
            Path(workdir),
            cores,
            driver_memory,
            python,
        )
        self._procs: dict[str, tuple[subprocess.Popen[bytes], Path, IO[bytes]]] = {}
        self._exited: dict[str, float] = {}  # job -> when its Python child was first seen ended

    def submit(self, request: Mapping[str, Any]) -> str:
        job = f"drift-{uuid.uuid4().hex[:12]}"
        folder = self.workdir / job
        folder.mkdir(parents=True)
        (folder / "request.json").write_text(json.dumps(request))
        env = dict(os.environ)
        env["PYSPARK_SUBMIT_ARGS"] = (
            f"--master local[{self.cores}] --driver-memory {self.driver_memory} "
            "--conf spark.ui.enabled=false "
            f"--conf spark.sql.shuffle.partitions={2 * self.cores} pyspark-shell"
        )
        env["PYSPARK_PYTHON"] = self.python
        log = open(folder / "log.txt", "wb")  # noqa: SIM115 (kept open for the child; closed when it ends)
        # The request as a URI, read through Spark as on Azure ML, so that path is the one tests run.
        request_uri = (folder / "request.json").resolve().as_uri()
        args = [self.python, str(SCRIPT), "--request", request_uri, "--output", str(folder)]
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self._procs[job] = (proc, folder, log)
        return job

    def pid(self, job: str) -> int:
        return self._procs[job][0].pid

    def state(self, job: str) -> JobState:
        proc, folder, log = self._procs[job]
        code = proc.poll()
        if code is None:
            return JobState(JobStatus.RUNNING)
        if live_members(proc.pid):
            # The JVM exits after the Python child (when its stdin closes, running Spark's shutdown hooks):
            # the job is done when its whole group is, or nobody would wait for the JVM. One that lingers
            # past JVM_EXIT_SECONDS is ended (the child's result is already written).
            first = self._exited.setdefault(job, time.monotonic())
            if time.monotonic() - first < JVM_EXIT_SECONDS:
                return JobState(JobStatus.RUNNING)
            end_group(proc, grace=0.0)
        self._exited.pop(job, None)
        log.close()
        del self._procs[job]
        if code != 0:
            tail = (folder / "log.txt").read_text(errors="replace").strip().splitlines()[-3:]
            return JobState(JobStatus.FAILED, message=f"exit code {code}: {' | '.join(tail)}")
        return JobState(JobStatus.SUCCEEDED, json.loads((folder / "summary.json").read_text()))

    def cancel(self, job: str) -> None:
        entry = self._procs.pop(job, None)
        self._exited.pop(job, None)
        if entry is None:
            return
        proc, _, log = entry
        end_group(proc)
        log.close()


def end_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """End every process in the group ``proc`` leads (start_new_session), not only ``proc``: its JVM
    outlives the Python child by seconds while Spark's shutdown hooks run, and an operator that stops must
    not leave it behind. SIGTERM first (Spark cleans up), SIGKILL for what is still alive after ``grace``."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait
        while True:
            proc.poll()  # reaps the leader; the JVM is reparented and reaped by init
            if not live_members(proc.pid):
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies are done: only their exit status is left)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members
