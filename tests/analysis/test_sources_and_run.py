"""Data sources (local files, Blob through a fake ContainerClient, the data collector layout) and the
run_analysis entry point folding metrics and drift into one verdict."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from azure.core.exceptions import ResourceNotFoundError

from modeldeploy.analysis.run import DriftAnalyzer, Sources, run_analysis
from modeldeploy.analysis.sources import BlobSource, DataUnavailable, FileSource
from modeldeploy.analysis.types import AnalysisConfig, DriftConfig, MetricCheck, MetricValue, Verdict
from tests.analysis.blob_fakes import Download, FakeContainer

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


def _table(seed: int, shift: float, n: int = 2000) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"x": rng.normal(shift, size=n), "c": rng.choice(["a", "b"], size=n).tolist()})


def test_file_source_reads_parquet_and_csv(tmp_path: Path) -> None:
    pq.write_table(_table(1, 0.0), tmp_path / "ref.parquet")
    (tmp_path / "live.csv").write_text("x,c\n1.5,a\n,b\n2.5,a\n")
    ref = FileSource(str(tmp_path / "ref.parquet")).load(None, None)
    assert isinstance(ref["x"], np.ndarray)
    assert len(ref["x"]) == 2000
    live = FileSource(f"file://{tmp_path}/live.csv").load(None, None)
    assert np.isnan(live["x"][1])  # a blank number is missing, not zero
    assert live["c"].to_pylist() == ["a", "b", "a"]


def test_a_local_glob_matches_whatever_way_its_folder_is_spelled(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("x\n1.0\n")
    (tmp_path / "d" / "b.csv").write_text("x\n2.0\n")
    (tmp_path / "d" / "notes.txt").write_text("not data\n")
    cols = FileSource(f"file://{tmp_path}/.//d/*.csv").load(None, None)
    assert sorted(cols["x"]) == [1.0, 2.0]


def test_file_source_filters_the_window_on_a_time_column(tmp_path: Path) -> None:
    times = [NOW - timedelta(hours=2), NOW - timedelta(minutes=10), NOW]
    pq.write_table(pa.table({"ts": times, "x": [1.0, 2.0, 3.0]}), tmp_path / "w.parquet")
    cols = FileSource(str(tmp_path / "w.parquet"), time_column="ts").load(NOW - timedelta(hours=1), NOW)
    assert list(cols["x"]) == [2.0]


def test_missing_and_unreadable_files_say_where(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match=f"no data files at {tmp_path}/nothing"):
        FileSource(str(tmp_path / "nothing*.parquet")).load(None, None)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataUnavailable, match=r"unreadable data at .*bad\.parquet"):
        FileSource(str(tmp_path / "bad.parquet")).load(None, None)


def test_blob_errors_are_data_unavailable() -> None:
    class Broken(FakeContainer):
        def download_blob(self, blob: str, **kwargs: Any) -> Download:
            raise ResourceNotFoundError("gone")

    with pytest.raises(
        DataUnavailable, match=r"cannot read blob 'ref/a\.parquet': ResourceNotFoundError: gone"
    ):
        BlobSource(Broken({"ref/a.parquet": b""}), "ref/").load(None, None)


class FixedProvider:
    def __init__(self, value: float | None, message: str = "") -> None:
        self.answer = MetricValue(value, message)
        self.seen: list[tuple[str, datetime, datetime]] = []

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        self.seen.append((query, start, end))
        return self.answer


def _sources(tmp_path: Path, live_shift: float) -> Sources:
    pq.write_table(_table(1, 0.0), tmp_path / "ref.parquet")
    pq.write_table(_table(2, live_shift), tmp_path / "live.parquet")
    return Sources(FileSource(str(tmp_path / "ref.parquet")), FileSource(str(tmp_path / "live.parquet")))


def test_run_analysis_passes_when_everything_is_within_bounds(tmp_path: Path) -> None:
    prom = FixedProvider(0.01)
    cfg = AnalysisConfig(
        metrics=(MetricCheck("errors", "prometheus", "errorRate", max=0.05),), drift=DriftConfig()
    )
    result = run_analysis(cfg, DriftAnalyzer(_sources(tmp_path, 0.0)), {"prometheus": prom}, NOW)
    assert result.verdict is Verdict.SUCCESSFUL
    assert prom.seen == [("errorRate", NOW - timedelta(seconds=300), NOW)]
    assert result.drift is not None
    assert result.drift.verdict is Verdict.SUCCESSFUL


def test_run_analysis_fails_on_a_breached_metric_or_on_drift(tmp_path: Path) -> None:
    cfg = AnalysisConfig(metrics=(MetricCheck("errors", "prometheus", "errorRate", max=0.05),))
    breached = run_analysis(cfg, None, {"prometheus": FixedProvider(0.2)}, NOW)
    assert breached.verdict is Verdict.FAILED
    assert breached.message == "errors = 0.2 is above the maximum 0.05"
    drifted = run_analysis(
        AnalysisConfig(drift=DriftConfig()), DriftAnalyzer(_sources(tmp_path, 1.0)), {}, NOW
    )
    assert drifted.verdict is Verdict.FAILED
    assert drifted.message.startswith("drift: 1 of 2 evaluated features drifted")


def test_no_data_and_missing_providers_never_fail_the_rollout(tmp_path: Path) -> None:
    cfg = AnalysisConfig(
        metrics=(MetricCheck("p99", "azureMonitor", "latencyP99", max=0.5),),
        drift=DriftConfig(),
    )
    missing = Sources(FileSource(str(tmp_path / "none.parquet")), FileSource(str(tmp_path / "none.parquet")))
    result = run_analysis(cfg, DriftAnalyzer(missing), {"azureMonitor": FixedProvider(None, "no data")}, NOW)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == f"no data; drift not evaluated: no data files at {tmp_path}/none.parquet"
    unknown = run_analysis(cfg, None, {}, NOW)
    assert unknown.verdict is Verdict.ERROR
    assert "no provider 'azureMonitor' configured (configured: none)" in unknown.message


def test_reference_is_profiled_once_across_runs(tmp_path: Path) -> None:
    analyzer = DriftAnalyzer(_sources(tmp_path, 0.0))
    cfg = AnalysisConfig(drift=DriftConfig())
    run_analysis(cfg, analyzer, {}, NOW)
    first = analyzer._profile
    run_analysis(cfg, analyzer, {}, NOW + timedelta(minutes=15))
    assert analyzer._profile is first


def test_window_files_typing_a_number_column_int_and_float_are_read_as_floats(tmp_path: Path) -> None:
    """JSON lines type each file by its values: an hour whose amounts all happen to be whole is int64, the
    next double. The window was refused ('files disagree on columns': Inconclusive every interval) where
    Spark, typing the window as a whole, read doubles. Widening is the only promotion: a text column that
    was a number elsewhere still says the files disagree."""
    (tmp_path / "a.jsonl").write_text('{"x": 1, "c": "a"}\n{"x": 2, "c": "b"}\n')
    (tmp_path / "b.jsonl").write_text('{"x": 1.5, "c": "a"}\n{"x": null, "c": null}\n')
    window = FileSource(str(tmp_path / "*.jsonl")).load(None, None)
    assert window["x"].tolist() == pytest.approx([1.0, 2.0, 1.5, np.nan], nan_ok=True)
    assert window["c"].to_pylist() == ["a", "b", "a", None]
    pq.write_table(pa.table({"x": pa.array([3, 4], pa.int32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": [0.25]}), tmp_path / "b.parquet")
    assert FileSource(str(tmp_path / "*.parquet")).load(None, None)["x"].tolist() == [3.0, 4.0, 0.25]
    # a file where the column is text makes it text in the window, as Spark's reader types it
    (tmp_path / "c.jsonl").write_text('{"x": "one", "c": "a"}\n')
    texts = FileSource(str(tmp_path / "*.jsonl")).load(None, None)["x"]
    assert texts.to_pylist() == ["1", "2", "1.5", None, "one"]  # type: ignore[union-attr]
    # booleans in one file and numbers in another: text too, as Spark's reader merges the two
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "a.jsonl").write_text('{"k": true, "x": 1}\n')
    (tmp_path / "flags" / "b.jsonl").write_text('{"k": 0, "x": 0.5}\n')
    flags = FileSource(str(tmp_path / "flags")).load(None, None)
    assert (flags["k"].to_pylist(), flags["x"].tolist()) == (["true", "0"], [1.0, 0.5])  # type: ignore[union-attr]
    # what has no text form still disagrees
    (tmp_path / "d.jsonl").write_text('{"x": {"k": 1}, "c": "a"}\n')
    with pytest.raises(DataUnavailable, match=r"files disagree on columns: .*Field x has incompatible types"):
        FileSource(str(tmp_path / "*.jsonl")).load(None, None)


def test_a_csv_text_field_that_is_empty_or_a_null_token_is_missing_not_a_category(tmp_path: Path) -> None:
    """As a number field already was, and as an MLTable reads it (empty_as_string: false) and the Spark job
    does: an empty category counted as the category '' in-process only gave the two engines different
    chi-squared tables for one file."""
    (tmp_path / "w.csv").write_text('x,c\n1,a\n2,\n3,""\n4,NA\n,null\n6,b\n')
    window = FileSource(str(tmp_path / "w.csv")).load(None, None)
    assert window["c"].to_pylist() == ["a", None, None, None, None, "b"]  # type: ignore[union-attr]
    assert window["x"].tolist() == pytest.approx([1, 2, 3, 4, np.nan, 6], nan_ok=True)  # type: ignore[union-attr]


def test_json_lines_keep_every_key_and_read_a_column_of_mixed_types_as_text(tmp_path: Path) -> None:
    """Arrow typed a JSON-lines file by its first row: a key that row lacked was dropped for the whole
    file (an optional field logged later was never tested), and a column mixing numbers and text made the
    file unreadable. Spark's reader takes every key, and text for a column of mixed types."""
    (tmp_path / "a.jsonl").write_text('{"a": 1}\n{"a": 2, "b": "x"}\n{"b": "y", "x": 1}\n')
    (tmp_path / "b.jsonl").write_text('{"x": "1.5"}\n{"x": "oops"}\n{"x": true}\n{"x": null}\n')
    first = FileSource(str(tmp_path / "a.jsonl")).load(None, None)
    assert first["a"].tolist() == pytest.approx([1, 2, np.nan], nan_ok=True)  # type: ignore[union-attr]
    assert first["b"].to_pylist() == [None, "x", "y"]  # type: ignore[union-attr]
    mixed = FileSource(str(tmp_path / "b.jsonl")).load(None, None)["x"]
    assert mixed.to_pylist() == ["1.5", "oops", "true", None]  # type: ignore[union-attr]
    (tmp_path / "c.jsonl").write_text('{"x": 1}\n[1, 2]\n')
    with pytest.raises(DataUnavailable, match=r"c\.jsonl: line 2 is a JSON list, not an object"):
        FileSource(str(tmp_path / "c.jsonl")).load(None, None)


def test_a_window_with_integer_ids_past_two_to_the_53_is_read(tmp_path: Path) -> None:
    """Every number column becomes float64, and Arrow's checked cast refused an id such as 2**53 + 1 (no
    double holds it): any table with a snowflake-style id column, tested or not, made drift an Error. The
    Spark job reads only the features, so it analysed the same window."""
    ids = [2**60 + 1, 2**53 + 1, 5]
    pq.write_table(pa.table({"id": ids, "x": [0.5, 1.5, 2.5]}), tmp_path / "w.parquet")
    window = FileSource(str(tmp_path / "w.parquet")).load(None, None)
    assert window["x"].tolist() == [0.5, 1.5, 2.5]  # type: ignore[union-attr]
    assert window["id"].tolist() == [float(i) for i in ids]  # type: ignore[union-attr]  # nearest doubles
