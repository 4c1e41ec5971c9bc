"""The real pushdown path with pyspark in local mode: the shipped entry file runs in a child process exactly
as LocalSpark starts it, the operator submits and polls without waiting, and the result equals the
in-process engine's on the same files (verdicts, statistics to 1e-9): plain Parquet files, and an MLTable
reference with a data collector's live window (the files the in-process readers resolve, read the same way).
A JVM start is each job's cost: one job, then two side by side."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modeldeploy.analysis.drift import detect_drift
from modeldeploy.analysis.pushdown import JobState, JobStatus, LocalSpark, Pushdown
from modeldeploy.analysis.run import DriftAnalyzer, Sources
from modeldeploy.analysis.sources import FileSource
from modeldeploy.analysis.types import (
    AnalysisConfig,
    DriftConfig,
    DriftMethod,
    DriftResult,
    FeatureConfig,
    FeatureKind,
    Verdict,
)
from modeldeploy.analysis.uris import Locator, source_for
from modeldeploy.ports import AnalysisPending
from tests.analysis.spark_wait import until_done

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
NUM, CAT = FeatureKind.NUMERICAL, FeatureKind.CATEGORICAL
CONFIG = DriftConfig(
    features=(
        FeatureConfig("smooth", NUM, DriftMethod.KS),
        FeatureConfig("ties", NUM, DriftMethod.KS),
        FeatureConfig("gappy", NUM, DriftMethod.WASSERSTEIN),
        FeatureConfig("shifted", NUM, DriftMethod.KS),
        FeatureConfig("spread", NUM, DriftMethod.PSI),
        FeatureConfig("skewed", NUM, DriftMethod.JENSEN_SHANNON),
        FeatureConfig("colour", CAT, DriftMethod.CHI_SQUARED),
        FeatureConfig("level", CAT, DriftMethod.JENSEN_SHANNON),
        FeatureConfig("flag", CAT, DriftMethod.CHI_SQUARED),
        FeatureConfig("tier", CAT, DriftMethod.PSI),
    ),
    prediction_features=(FeatureConfig("score", NUM, DriftMethod.KS),),
    min_samples=100,
)


def _table(rows: int, seed: int, shift: float, extra_colour: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    gappy = rng.exponential(size=rows)
    gappy[rng.random(rows) < 0.05] = np.nan
    gappy[:3] = np.inf
    colours = np.array(["red", "green", "blue"] + (["violet"] if extra_colour else []))
    return pa.table(
        {
            "smooth": rng.normal(size=rows),
            "ties": np.round(rng.normal(shift, size=rows), 1),
            "gappy": gappy,
            "shifted": rng.normal(4 * shift, size=rows),
            "spread": rng.normal(0, 1 + 4 * shift, size=rows),
            "skewed": np.round(rng.lognormal(4 * shift, 1, size=rows), 2),
            "colour": colours[rng.integers(0, colours.size, rows)],
            "level": rng.integers(0, 4, rows),
            "flag": rng.random(rows) < 0.3 + shift,
            "tier": np.where(rng.random(rows) < 0.02, np.nan, rng.integers(1, 4, rows) * 0.5),
            "score": rng.beta(2, 5, rows),
        }
    )


class WatchedSpark(LocalSpark):
    """LocalSpark that notes each job's process group, the JVMs seen in it while it ran, and which of them
    still ran at the moment ``state`` first reported the job done."""

    def __init__(self, workdir: str) -> None:
        super().__init__(workdir)
        self.groups: list[int] = []
        self.jvms: set[int] = set()
        self.left_when_done: list[int] | None = None

    def submit(self, request: Mapping[str, Any]) -> str:
        job = super().submit(request)
        self.groups.append(self.pid(job))
        return job

    def state(self, job: str) -> JobState:
        for group in self.groups:
            self.jvms.update(_jvms_in_group(group))
        state = super().state(job)
        if state.status is not JobStatus.RUNNING and self.left_when_done is None:
            self.left_when_done = [p for p in self.jvms if _alive(p)]
        return state


JVMS_LEFT: dict[str, list[int] | None] = {}  # fixture -> JVMs still running when its job was reported done


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[DriftResult, DriftResult, float]:
    """(Spark's result, the in-process result, seconds the submitting run took)."""
    d = tmp_path_factory.mktemp("spark")
    # 12,000 x 11,000 rows: KS p-values from the asymptotic distribution; the 'ties' column takes the exact
    # lattice nowhere, so both KS branches of ks_pvalues are reached through 'smooth' and 'shifted' alike.
    ref, live = _table(12_000, 1, 0.0, False), _table(11_000, 2, 0.05, True)
    pq.write_table(ref, d / "ref.parquet")
    pq.write_table(live, d / "live.parquet")
    sources = Sources(
        FileSource(str(d / "ref.parquet"), "parquet"), FileSource(str(d / "live.parquet"), "parquet")
    )
    jobs = WatchedSpark(str(d / "jobs"))
    analyzer = DriftAnalyzer(sources, Pushdown(jobs, 1024, poll_seconds=0.5))
    t0 = time.monotonic()
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    submitted = time.monotonic() - t0
    deadline = time.monotonic() + 240
    while True:
        try:
            spark_result = analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
            break
        except AnalysisPending:
            assert time.monotonic() < deadline, "the local Spark job did not finish in 240 s"
            time.sleep(0.5)
    assert jobs.jvms, "no JVM was seen while the job ran: the check below would prove nothing"
    JVMS_LEFT["pushed"] = jobs.left_when_done
    columns = {n: ref.column(n).to_numpy() if n != "colour" else ref.column(n) for n in ref.column_names}
    live_columns = {
        n: live.column(n).to_numpy() if n != "colour" else live.column(n) for n in live.column_names
    }
    return spark_result, detect_drift(CONFIG, columns, live_columns), submitted


def test_a_job_is_done_only_when_its_jvm_is(pushed: tuple[DriftResult, DriftResult, float]) -> None:
    """The Python child exits first and its JVM follows when its stdin closes, running Spark's shutdown
    hooks: a job reported done before that had a JVM nobody waited for, which outlived the demo."""
    assert JVMS_LEFT["pushed"] == [], "the job was reported done while its JVM still ran"


def test_submitting_returns_at_once(pushed: tuple[DriftResult, DriftResult, float]) -> None:
    assert pushed[2] < 5.0  # a child process started, not a Spark job waited for


def test_spark_and_in_process_give_the_same_verdicts_and_statistics(
    pushed: tuple[DriftResult, DriftResult, float],
) -> None:
    spark_result, local, _ = pushed
    assert spark_result.verdict is local.verdict
    assert spark_result.message == local.message
    pairs = zip(
        spark_result.features + spark_result.predictions, local.features + local.predictions, strict=True
    )
    for s, lo in pairs:
        assert (s.feature, s.verdict, s.method) == (lo.feature, lo.verdict, lo.method)
        assert (s.reference_rows, s.live_rows) == (lo.reference_rows, lo.live_rows)
        assert s.missing_reference == pytest.approx(lo.missing_reference, abs=1e-12)
        assert s.statistic == pytest.approx(lo.statistic, abs=1e-9, rel=1e-9)
        assert set(s.distances) == set(lo.distances)  # every statistic, numerical bins included
        for key, value in lo.distances.items():
            assert s.distances[key] == pytest.approx(value, abs=1e-9, rel=1e-9), key
        assert s.engine.startswith("spark: the reference is ")
        assert s.engine.endswith("KiB, over the 1.0 KiB pod limit")
    by_name = {f.feature: f for f in spark_result.features}
    assert by_name["shifted"].verdict is Verdict.FAILED  # the data really drifted where it was shifted
    assert "'violet'" in by_name["colour"].message  # the unseen category is reported, as in-process


# ---- MLTable and data-collector windows: the files the in-process reader reads, read the same way ------

WINDOW_AT = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)  # the live window: 11:30 to 12:30
WINDOW_CONFIG = DriftConfig(
    features=(
        FeatureConfig("x", NUM, DriftMethod.KS),
        FeatureConfig("y", NUM, DriftMethod.WASSERSTEIN),
        FeatureConfig("c", CAT, DriftMethod.CHI_SQUARED),
    ),
    min_samples=100,
)
MLTABLE = """
type: mltable
paths:
  - pattern: ./parts/*.csv
  - file: ./extra.csv
transformations:
  - read_delimited: {delimiter: ";", header: all_files_same_headers}
  - keep_columns: [x, y, c]
"""


def _windows(root: Path) -> tuple[Path, Path]:
    """An MLTable reference (two CSV parts by pattern, one by file, ';'-separated, a column dropped) and a
    collector folder whose hours 10-12 hold envelopes every minute; some rows fall outside the window and
    one envelope has no time (kept, as in-process)."""
    rng = np.random.default_rng(5)
    table = root / "reference"
    (table / "parts").mkdir(parents=True)
    (table / "MLTable").write_text(MLTABLE)
    for name, n in (("parts/a.csv", 2000), ("parts/b.csv", 1500), ("extra.csv", 1500)):
        rows = [f"{rng.normal():.6f};{rng.exponential():.6f};{'abc'[rng.integers(3)]};note" for _ in range(n)]
        (table / name).write_text("x;y;c;note\n" + "\n".join(rows) + "\n")
    folder = root / "modelDataCollector/churn/blue/model_inputs"
    for hour in (10, 11, 12):
        lines = []
        for minute in range(60):
            data = [
                {"x": float(rng.normal(0.15)), "y": float(rng.exponential(1.2)), "c": "abcd"[rng.integers(4)]}
                for _ in range(40)
            ]
            lines.append(json.dumps({"time": f"2025-03-01T{hour:02d}:{minute:02d}:00Z", "data": data}))
        if hour == 11:
            lines.append(json.dumps({"data": [{"x": 9.0, "y": 9.0, "c": "z"}]}))  # no time: kept
        (folder / f"2025/03/01/{hour:02d}").mkdir(parents=True)
        (folder / f"2025/03/01/{hour:02d}/part-0.jsonl").write_text("\n".join(lines) + "\n")
    return table, folder


def _until_done(analyzer: DriftAnalyzer, config: DriftConfig, now: datetime) -> DriftResult:
    return until_done(analyzer, config, now, seconds=240)


@pytest.fixture(scope="module")
def windowed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[DriftResult, DriftResult]]:
    """(Spark, in-process) results for a window with requests and for one with none timed inside it; the
    two Spark jobs run side by side."""
    d = tmp_path_factory.mktemp("windows")
    table, folder = _windows(d)
    locator = Locator(data_root=str(d))

    def sources() -> Sources:
        return Sources(
            source_for(f"file://{table}", "mltable", locator=locator),
            source_for(f"file://{folder}", "jsonl", live=True, locator=locator),
        )

    # 12:59:30 to 13:59:30: hour 12's file is read (hour 13 has none), its last request was at 12:59:00
    empty_at = datetime(2025, 3, 1, 13, 59, 30, tzinfo=UTC)
    runs = {"requests": WINDOW_AT, "none inside": empty_at}
    jobs = LocalSpark(str(d / "jobs"))
    pushed = {k: DriftAnalyzer(sources(), Pushdown(jobs, 1024, poll_seconds=0.5)) for k in runs}
    for key, now in runs.items():
        with pytest.raises(AnalysisPending, match=r"over the 1\.0 KiB pod limit"):
            pushed[key].run(AnalysisConfig(drift=WINDOW_CONFIG), now)
    return {
        key: (
            _until_done(pushed[key], WINDOW_CONFIG, now),
            DriftAnalyzer(sources()).run(AnalysisConfig(drift=WINDOW_CONFIG), now),
        )
        for key, now in runs.items()
    }


def test_an_mltable_reference_and_a_collector_window_give_the_in_process_results_on_spark(
    windowed: dict[str, tuple[DriftResult, DriftResult]],
) -> None:
    spark_result, local = windowed["requests"]
    assert spark_result.verdict is local.verdict
    assert spark_result.message == local.message
    for s, lo in zip(spark_result.features, local.features, strict=True):
        assert (s.feature, s.verdict, s.method) == (lo.feature, lo.verdict, lo.method)
        # 5,000 reference rows from three files; 2,401 live rows: 11:30-12:29 and the envelope without time
        assert (s.reference_rows, s.live_rows) == (lo.reference_rows, lo.live_rows) == (5000, 2401)
        assert s.statistic == pytest.approx(lo.statistic, abs=1e-9, rel=1e-9)
        for key, value in lo.distances.items():
            assert s.distances[key] == pytest.approx(value, abs=1e-9, rel=1e-9), key
        assert s.engine.startswith("spark: the live window is ")
    by_name = {f.feature: f for f in spark_result.features}
    assert by_name["x"].verdict is Verdict.FAILED  # shifted by 0.15 sigma at these sizes
    assert "'d'" in by_name["c"].message  # the category the reference never had, as in-process


def test_a_collector_window_with_no_request_inside_is_inconclusive_with_the_in_process_message(
    windowed: dict[str, tuple[DriftResult, DriftResult]],
) -> None:
    spark_result, local = windowed["none inside"]
    assert spark_result.verdict is local.verdict is Verdict.INCONCLUSIVE
    assert spark_result.message == local.message
    assert local.message.endswith(": 1 file(s), but no request timed inside the window")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _jvms_in_group(pgid: int) -> list[int]:
    """java processes of process group ``pgid`` that still run (read from /proc here, independently)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            program = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z" and program.endswith(b"java"):
            found.append(int(entry.name))
    return found


def test_cancelling_a_running_job_ends_its_jvm_before_it_returns(tmp_path: Path) -> None:
    """The JVM is the child's child and ran on while Spark's shutdown hooks ran after a cancel that waited
    for the Python child only: CI found one outliving the demo after SIGTERM."""
    pq.write_table(_table(20_000, 1, 0.0, False), tmp_path / "ref.parquet")
    window = [str(tmp_path / "ref.parquet")]
    request = {
        "reference": window,
        "reference_format": "parquet",
        "live": window,
        "live_format": "parquet",
        "numerical": ["smooth", "shifted"],
        "categorical": ["colour"],
        "n_bins": 10,
    }
    jobs = LocalSpark(str(tmp_path / "jobs"))
    job = jobs.submit(request)
    pgid = jobs.pid(job)
    deadline = time.monotonic() + 120
    while not (jvms := _jvms_in_group(pgid)):
        assert time.monotonic() < deadline, "no JVM started within 120 s"
        time.sleep(0.05)
    time.sleep(1.0)  # past its start: Spark's shutdown hooks have work to do
    started = time.monotonic()
    jobs.cancel(job)
    assert [p for p in jvms if _alive(p)] == [], "the job's JVM outlived cancel()"
    assert time.monotonic() - started < 11, "cancel() waited past SIGTERM's grace and SIGKILL's"
