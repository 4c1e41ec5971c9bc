"""Routing large windows to Spark, without waiting for it: submission and every poll return at once
(``AnalysisPending``), a finished job's summary becomes a result through the engine's own functions, and a
failed, unsubmittable or overlong job is Inconclusive. The jobs here are in memory; the real local Spark
run is tests/analysis/test_spark_local.py."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modeldeploy.analysis.pushdown import JobState, JobStatus, LocalSpark, Pushdown
from modeldeploy.analysis.run import DriftAnalyzer, Sources
from modeldeploy.analysis.sources import FileSource
from modeldeploy.analysis.types import (
    AnalysisConfig,
    DriftConfig,
    DriftMethod,
    FeatureConfig,
    FeatureKind,
    Verdict,
)
from modeldeploy.ports import AnalysisPending

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
SUMMARY = {
    "numerical": {"x": {"n1": 5000, "n2": 4000, "d": 0.08, "w": 0.2, "std": 1.0}},
    "categorical": {"c": {"reference": [["a", 2500], ["b", 2500]], "live": [["a", 2000], ["b", 1990]]}},
    "absent": [],
    "reference_rows": 5000,
    "live_rows": 4000,
}


class Jobs:
    def __init__(self) -> None:
        self.requests: list[Mapping[str, Any]] = []
        self.states: list[JobState] = []
        self.cancelled: list[str] = []
        self.fail_submit: Exception | None = None

    def submit(self, request: Mapping[str, Any]) -> str:
        if self.fail_submit is not None:
            raise self.fail_submit
        self.requests.append(request)
        return f"job-{len(self.requests)}"

    def state(self, job: str) -> JobState:
        return self.states.pop(0)

    def cancel(self, job: str) -> None:
        self.cancelled.append(job)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    for name, n in (("ref", 5000), ("live", 4000)):
        pq.write_table(
            pa.table({"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n)}), tmp_path / f"{name}.parquet"
        )
    return str(tmp_path / "ref.parquet"), str(tmp_path / "live.parquet")


CONFIG = DriftConfig(
    features=(
        FeatureConfig("x", FeatureKind.NUMERICAL, DriftMethod.KS),
        FeatureConfig("c", FeatureKind.CATEGORICAL, DriftMethod.CHI_SQUARED),
    ),
    min_samples=100,
)


def _analyzer(files: tuple[str, str], jobs: Jobs, max_bytes: int, clock: list[float]) -> DriftAnalyzer:
    sources = Sources(FileSource(files[0], "parquet"), FileSource(files[1], "parquet"), timedelta(hours=1))
    push = Pushdown(jobs, max_bytes, poll_seconds=7.0, timeout_seconds=60.0, clock=lambda: clock[0])
    return DriftAnalyzer(sources, push)


def test_a_window_over_the_limit_is_submitted_and_polled_without_waiting(files: tuple[str, str]) -> None:
    jobs, clock = Jobs(), [0.0]
    analyzer = _analyzer(files, jobs, 1000, clock)
    with pytest.raises(AnalysisPending) as first:
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    assert first.value.retry_after == 7.0
    assert "submitted" in str(first.value)
    assert "over the 1000 B pod limit" in str(first.value)
    assert jobs.requests == [
        {
            "reference": [files[0]],
            "reference_format": "parquet",
            "live": [files[1]],
            "live_format": "parquet",
            "numerical": ["x"],
            "categorical": ["c"],
            "n_bins": 10,
        }
    ]
    jobs.states = [JobState(JobStatus.RUNNING)]
    with pytest.raises(AnalysisPending, match="running"):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    jobs.states = [JobState(JobStatus.SUCCEEDED, SUMMARY)]
    result = analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    assert len(jobs.requests) == 1  # polled, never resubmitted
    by_name = {f.feature: f for f in result.features}
    assert by_name["x"].distances["ks_statistic"] == 0.08
    assert by_name["x"].verdict is Verdict.FAILED  # D = 0.08 at these sizes: p ~ 1e-12
    assert by_name["c"].verdict is Verdict.SUCCESSFUL
    assert all(f.engine.startswith("spark: the reference is") for f in result.features)


def test_a_window_within_the_limit_is_read_in_process_and_says_so(files: tuple[str, str]) -> None:
    jobs = Jobs()
    result = _analyzer(files, jobs, 1 << 30, [0.0]).run(AnalysisConfig(drift=CONFIG), NOW)
    assert jobs.requests == []
    assert {f.engine for f in result.features} == {"in-process: each window is within the 1.0 GiB pod limit"}
    assert result.verdict is Verdict.SUCCESSFUL


def test_a_failed_job_is_inconclusive_never_a_rollback(files: tuple[str, str]) -> None:
    jobs = Jobs()
    analyzer = _analyzer(files, jobs, 1000, [0.0])
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    jobs.states = [JobState(JobStatus.FAILED, message="executor lost")]
    result = analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == "drift not evaluated: Spark job job-1 failed: executor lost"


def test_a_job_running_past_the_timeout_is_cancelled_and_inconclusive(files: tuple[str, str]) -> None:
    jobs, clock = Jobs(), [0.0]
    analyzer = _analyzer(files, jobs, 1000, clock)
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    clock[0] = 61.0
    jobs.states = [JobState(JobStatus.RUNNING)]
    result = analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    assert jobs.cancelled == ["job-1"]
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == "drift not evaluated: Spark job job-1 ran longer than 60 s; it was cancelled"


def test_a_submission_that_fails_is_inconclusive(files: tuple[str, str]) -> None:
    jobs = Jobs()
    jobs.fail_submit = RuntimeError("quota exhausted")
    result = _analyzer(files, jobs, 1000, [0.0]).run(AnalysisConfig(drift=CONFIG), NOW)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == (
        "drift not evaluated: the Spark job was not submitted: RuntimeError: quota exhausted"
    )


def test_a_job_that_could_not_read_its_data_is_inconclusive_with_sparks_own_words(
    files: tuple[str, str],
) -> None:
    """A real job that failed was reported by the last three lines of its log: JVM stack frames."""
    from modeldeploy.analysis.spark_job import failure

    py4j = (
        "An error occurred while calling o41.parquet.\n: org.apache.spark.SparkException: [FAILED_READ_FILE."
        "CANNOT_READ_FILE_FOOTER] Encountered error while reading file file:/d/live.parquet.\n\tat org.apache"
        ".spark.sql.errors.QueryExecutionErrors$.cannotReadFooterForFileError(QueryExecutionErrors.scala:1109)"
    )
    said = failure(RuntimeError(py4j))
    assert said == (
        "RuntimeError: org.apache.spark.SparkException: [FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] "
        "Encountered error while reading file file:/d/live.parquet."
    )
    jobs = Jobs()
    analyzer = _analyzer(files, jobs, 1000, [0.0])
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    jobs.states.append(JobState(JobStatus.SUCCEEDED, {"failed": said, "engine": "spark 4.0.1"}))
    result = analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == f"drift not evaluated: Spark job job-1 failed: {said}"


def test_numerical_psi_without_bin_counts_in_the_summary_is_inconclusive(files: tuple[str, str]) -> None:
    cfg = DriftConfig(features=(FeatureConfig("x", FeatureKind.NUMERICAL, DriftMethod.PSI),), min_samples=100)
    jobs = Jobs()
    analyzer = _analyzer(files, jobs, 1000, [0.0])
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=cfg), NOW)
    jobs.states = [JobState(JobStatus.SUCCEEDED, SUMMARY)]
    (x,) = analyzer.run(AnalysisConfig(drift=cfg), NOW).features
    assert x.verdict is Verdict.INCONCLUSIVE
    assert x.message == "x: psi was not computed (the Spark job's summary has no bin counts for it)"


def test_the_azure_ml_job_is_the_sdks_own_spark_entity_running_the_shipped_entry_file(tmp_path: Path) -> None:
    from modeldeploy.analysis.azureml_spark import AzureMLSpark, build_job
    from modeldeploy.analysis.pushdown import SCRIPT

    request_file = tmp_path / "request.json"
    request_file.write_text("{}")
    job = build_job(str(request_file))
    body = job._to_job()._to_rest_object().as_dict()["properties"]
    assert body["jobType"] == "Spark"
    assert body["entry"] == {"file": "spark_job.py", "sparkJobEntryType": "SparkJobPythonEntry"}
    assert body["resources"] == {"instanceType": "standard_e4s_v3", "runtimeVersion": "3.4"}
    assert body["outputs"]["result"]["jobOutputType"] == "uri_folder"
    # the request is an input file, not an argument: thousands of URIs exceed one argument's 128 KiB
    assert body["args"] == "--request ${{inputs.request}} --output ${{outputs.result}}"
    assert body["inputs"]["request"]["jobInputType"] == "uri_file"
    assert body["inputs"]["request"]["mode"] == "Direct"
    assert body["inputs"]["request"]["uri"] == str(request_file)
    assert (Path(job.code) / "spark_job.py").read_bytes() == SCRIPT.read_bytes()

    class Ops:  # MLClient.jobs: the statuses Azure ML reports
        status = "Running"

        def get(self, name: str) -> Any:
            return type("Job", (), {"status": self.status, "name": name})()

        def create_or_update(self, job: Any) -> Any:  # the SDK uploads the local request file here
            self.submitted = json.loads(Path(job.inputs["request"].path).read_text())
            return type("Job", (), {"name": "drift-job-1"})()

    ops = Ops()
    spark = AzureMLSpark(ops)
    big = {"reference": [f"abfss://c@acct.dfs.core.windows.net/part-{i:05d}.parquet" for i in range(5000)]}
    assert spark.submit(big) == "drift-job-1"
    assert ops.submitted == big
    assert spark.state("j").status is JobStatus.RUNNING
    ops.status = "Failed"
    assert spark.state("j") == JobState(JobStatus.FAILED, message="Azure ML job j is Failed")


def test_the_spark_job_refuses_column_names_outside_the_apis_alphabet_before_touching_spark() -> None:
    from modeldeploy.analysis import spark_job

    sneaky = "x` AS DOUBLE), reflect('java.lang.Runtime', 'getRuntime'), try_cast(`x"
    request = {"numerical": ["ok_name", sneaky], "categorical": []}
    with pytest.raises(ValueError, match=r"are not \[A-Za-z_\]\[A-Za-z0-9_.-\]\*") as err:
        spark_job.run(None, request)  # no session: refused before any Spark call
    assert sneaky in str(err.value)
    assert "ok_name" not in str(err.value)


def test_the_spark_jobs_deciles_are_numpys_to_the_last_bit() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from modeldeploy.analysis.spark_job import _quantile

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300), st.integers(1, 19))
    def check(values: list[float], tenth: int) -> None:
        x = np.sort(np.array(values))
        q = tenth / 20
        k = int(np.floor((x.size - 1) * q))
        hi = float(x[k + 1]) if k + 1 < x.size else None
        assert _quantile(x.size, q, float(x[k]), hi) == float(np.quantile(x, q))

    check()


def test_the_spark_jobs_csv_null_tokens_are_the_in_process_readers() -> None:
    import pyarrow.csv as pacsv

    from modeldeploy.analysis.spark_job import CSV_NULLS

    assert list(CSV_NULLS) == pacsv.ConvertOptions().null_values


def test_closing_an_analyzer_cancels_its_running_job(files: tuple[str, str]) -> None:
    jobs = Jobs()
    analyzer = _analyzer(files, jobs, 1000, [0.0])
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    analyzer.close()  # the object was deleted, or its spec changed
    assert jobs.cancelled == ["job-1"]
    analyzer.close()
    assert jobs.cancelled == ["job-1"]  # once


def _shim(tmp_path: Path, body: str) -> str:
    """A stand-in for the Python that LocalSpark starts: argv is (script, --request, file, --output, dir)."""
    shim = tmp_path / f"shim-{uuid.uuid4().hex[:6]}"
    shim.write_text("#!/bin/sh\n" + body + "\n")
    shim.chmod(0o755)
    return str(shim)


def test_local_spark_polls_its_child_without_waiting_and_reads_the_summary(tmp_path: Path) -> None:
    done = LocalSpark(
        str(tmp_path / "jobs"), python=_shim(tmp_path, 'sleep 0.3; echo \'{"ok": 1}\' > "$5/summary.json"')
    )
    job = done.submit({"numerical": ["x"]})
    assert done.state(job).status is JobStatus.RUNNING  # asked, not waited for
    assert json.loads((tmp_path / "jobs" / job / "request.json").read_text()) == {"numerical": ["x"]}
    deadline = time.monotonic() + 10
    while (state := done.state(job)).status is JobStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state == JobState(JobStatus.SUCCEEDED, {"ok": 1})


def test_local_spark_reports_a_failed_child_with_its_last_lines(tmp_path: Path) -> None:
    failing = LocalSpark(
        str(tmp_path / "jobs"), python=_shim(tmp_path, "echo starting; echo 'Py4JError: no JVM'; exit 3")
    )
    job = failing.submit({})
    deadline = time.monotonic() + 10
    while (state := failing.state(job)).status is JobStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state == JobState(JobStatus.FAILED, message="exit code 3: starting | Py4JError: no JVM")


def test_cancelling_a_local_job_ends_its_process_group(tmp_path: Path) -> None:
    slow = LocalSpark(str(tmp_path / "jobs"), python=_shim(tmp_path, "sleep 60 & wait"))
    job = slow.submit({})
    pid = slow.pid(job)
    deadline = time.monotonic() + 5
    while len(_alive_in_group(pid)) < 2:  # the shell and its sleep both started
        assert time.monotonic() < deadline
        time.sleep(0.05)
    t0 = time.monotonic()
    slow.cancel(job)
    assert time.monotonic() - t0 < 5
    deadline = time.monotonic() + 5
    while _alive_in_group(pid):  # the child's own child (the JVM, in a real job) goes too
        assert time.monotonic() < deadline, f"process group {pid} still running"
        time.sleep(0.05)


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of the group that still run (zombies waiting for their reaper do not)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_a_window_that_is_not_plain_files_stays_in_process_and_says_why(files: tuple[str, str]) -> None:
    class Collected:  # e.g. Log Analytics: never pushed down
        def load(self, start: datetime | None, end: datetime | None) -> dict[str, Any]:
            t = pq.read_table(files[1])
            return {"x": t.column("x").to_numpy(), "c": t.column("c")}

    jobs = Jobs()
    sources = Sources(FileSource(files[0], "parquet"), Collected(), timedelta(hours=1))
    result = DriftAnalyzer(sources, Pushdown(jobs, 1000)).run(AnalysisConfig(drift=CONFIG), NOW)
    assert jobs.requests == []
    assert {f.engine for f in result.features} == {
        "in-process: Collected data is not files a Spark job can read"
    }


def test_a_spec_naming_no_features_is_analysed_in_process_and_says_why(files: tuple[str, str]) -> None:
    """Which columns to test, and whether each is numerical or categorical, is found in the data
    in-process; a job told to test no feature would find no drift, whatever the data."""
    jobs = Jobs()
    every_column = DriftConfig(min_samples=100)
    result = _analyzer(files, jobs, 1000, [0.0]).run(AnalysisConfig(drift=every_column), NOW)
    assert jobs.requests == []
    assert {f.feature for f in result.features} == {"x", "c"}
    assert {f.engine for f in result.features} == {
        "in-process: the spec names no features; the Spark job tests named ones only"
    }


def test_a_column_missing_from_the_live_window_is_reported_as_in_process_with_its_reference_counted() -> None:
    """The job counted nothing for a column the live window lacks, so the Spark result said 0 reference
    rows, and the test chosen for it (AUTO) and its reason were those of an empty reference. It now counts
    the reference side and lists the column as absent; the result is the in-process one."""
    from modeldeploy.analysis.drift import detect_drift
    from modeldeploy.analysis.summary import result_from_summary

    num, cat = FeatureKind.NUMERICAL, FeatureKind.CATEGORICAL
    features = (FeatureConfig("x", num), FeatureConfig("gone", num), FeatureConfig("cg", cat))
    cfg = DriftConfig(features=features, min_samples=100)
    rng = np.random.default_rng(3)
    x_ref, x_live = rng.normal(size=3000), rng.normal(size=2000)
    ref = {"x": x_ref, "gone": rng.normal(size=3000), "cg": pa.array(["a", "b"] * 1500)}
    local = detect_drift(cfg, ref, {"x": x_live})
    summary = {
        "numerical": {
            "x": {"n1": 3000, "n2": 2000, "d": 0.01, "w": 0.02, "std": 1.0},
            "gone": {"n1": 3000, "n2": 0, "d": float("nan"), "w": float("nan"), "std": 1.0},
        },
        "categorical": {"cg": {"reference": [["a", 1500], ["b", 1500]], "live": []}},
        "absent": ["gone", "cg"],
        "reference_rows": 3000,
        "live_rows": 2000,
    }
    spark = result_from_summary(cfg, summary)
    for s, lo in list(zip(spark.features, local.features, strict=True))[1:]:
        assert (s.verdict, s.message, s.reference_rows, s.method, s.why) == (
            lo.verdict,
            lo.message,
            lo.reference_rows,
            lo.method,
            lo.why,
        )
        assert s.message == f"{s.feature}: column missing from the live window"
        assert s.why.endswith("with 3000 reference rows (> 1000)")


def test_a_feature_the_reference_lacks_is_the_in_process_error_on_spark_too(files: tuple[str, str]) -> None:
    """In-process a named feature the reference data lacks is an Error (a spec to fix, not data to wait
    for). The job raised, and the operator reported an Inconclusive job failure instead. The job now
    returns the reference's columns and the operator says what in-process says."""
    config = DriftConfig(features=(*CONFIG.features, FeatureConfig("y", FeatureKind.NUMERICAL)))
    local = DriftAnalyzer(Sources(FileSource(files[0], "parquet"), FileSource(files[1], "parquet"))).run(
        AnalysisConfig(drift=config), NOW
    )
    assert local.verdict is Verdict.ERROR
    jobs = Jobs()
    analyzer = _analyzer(files, jobs, 1000, [0.0])
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=config), NOW)
    jobs.states.append(JobState(JobStatus.SUCCEEDED, {"reference_columns": ["x", "c"], "engine": "spark"}))
    result = analyzer.run(AnalysisConfig(drift=config), NOW)
    assert (result.verdict, result.message) == (Verdict.ERROR, local.message)
    assert (
        "drift features ['y'] are not columns of the reference data (columns: ['c', 'x'])" in result.message
    )


def test_an_unseen_whole_number_category_is_named_alike_by_both_engines() -> None:
    """The operator's reader makes every number column float64, so in-process an unseen category 5 of an
    integer column was named '5.0'; the Spark job keeps the column's integers and named it '5'."""
    from modeldeploy.analysis.drift import detect_drift
    from modeldeploy.analysis.summary import result_from_summary

    cfg = DriftConfig(features=(FeatureConfig("level", FeatureKind.CATEGORICAL),), min_samples=100)
    ref, live = np.array([1.0, 2.0] * 300), np.array([1.0, 2.0, 5.0, 0.5] * 150)  # as to_columns has them
    local = detect_drift(cfg, {"level": ref}, {"level": live})
    # the job's counts of the same windows: the integer column's categories as integers
    live_counts = [[1, 150], [2, 150], [5, 150], [0.5, 150]]
    summary = {
        "numerical": {},
        "categorical": {"level": {"reference": [[1, 300], [2, 300]], "live": live_counts}},
        "absent": [],
        "reference_rows": 600,
        "live_rows": 600,
    }
    spark = result_from_summary(cfg, summary)
    assert local.features[0].message == "categories unseen in the reference: 0.5, 5 (50.0% of live values)"
    assert spark.features[0].message == local.features[0].message


def test_integer_categories_past_two_to_the_53_count_alike_in_both_engines() -> None:
    """The operator reads every number column as float64, so two integer ids above 2**53 that round to one
    double are one category in-process; the job kept them apart, and the engines tested different tables."""
    from modeldeploy.analysis import categorical
    from modeldeploy.analysis.sources import to_columns
    from modeldeploy.analysis.spark_job import _typed
    from modeldeploy.analysis.summary import _counts

    ids = [2**53, 2**53 + 1, 2**53, 7]
    local = categorical.count(to_columns(pa.table({"c": ids}))["c"])
    # the job's group-by: each distinct value as text, with its count, turned back by the column's type
    spark = _counts([[_typed("bigint")(str(v)), n] for v, n in ((2**53, 2), (2**53 + 1, 1), (7, 1))], 4)
    assert spark == local
    assert local.counts == {float(2**53): 3, 7.0: 1}
