"""Data the other tests do not have, through the real local Spark job and in-process on the same CSV files:
NaN and +-inf, magnitudes of 1e300 and 1e-300, a constant column, a column empty in the live window, a
number column with a stray word, whole numbers in one live file and decimals in the other, CSV null tokens
in a category column, many unseen categories, a column the live window lacks and heavy ties. Both engines
give the same result for each, to the message. One job (a JVM start is its cost); then a job whose input
is unreadable is Inconclusive, saying what Spark could not read."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from modeldeploy.analysis.pushdown import LocalSpark, Pushdown
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
from modeldeploy.ports import AnalysisPending
from tests.analysis.spark_wait import until_done

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
NUM, CAT = FeatureKind.NUMERICAL, FeatureKind.CATEGORICAL
CONFIG = DriftConfig(
    features=(
        FeatureConfig("nan_inf", NUM, DriftMethod.KS),
        FeatureConfig("big", NUM, DriftMethod.WASSERSTEIN),
        FeatureConfig("tiny", NUM, DriftMethod.KS),
        FeatureConfig("flat", NUM, DriftMethod.KS),
        FeatureConfig("empty_live", NUM, DriftMethod.KS),
        FeatureConfig("words", NUM, DriftMethod.KS),
        FeatureConfig("amount", NUM, DriftMethod.KS),
        FeatureConfig("ties", NUM),
        FeatureConfig("low", NUM, DriftMethod.PSI),
        FeatureConfig("when", NUM, DriftMethod.WASSERSTEIN),
        FeatureConfig("day", NUM, DriftMethod.WASSERSTEIN),
        FeatureConfig("piled", NUM, DriftMethod.JENSEN_SHANNON),
        FeatureConfig("gone", NUM),
        FeatureConfig("tok", CAT, DriftMethod.CHI_SQUARED),
        FeatureConfig("unseen", CAT, DriftMethod.JENSEN_SHANNON),
    ),
    min_samples=100,
    drift_share=0.9,
)
UNSEEN = [f"u{i}" for i in range(1, 8)]  # u1 most frequent in the live window, u7 least


def _write(path: Path, columns: dict[str, list[str]]) -> None:
    rows = zip(*columns.values(), strict=True)
    path.write_text(",".join(columns) + "\n" + "".join(",".join(r) + "\n" for r in rows))


def _numbers(x: np.ndarray) -> list[str]:
    return [repr(float(v)) for v in x]


def _window(rng: np.random.Generator, n: int, live: bool, part: int = 0) -> dict[str, list[str]]:
    shift = 0.5 if live else 0.0
    nan_inf = _numbers(rng.normal(shift, size=n))
    nan_inf[:3] = ["nan", "inf", "-inf"]
    words = _numbers(rng.normal(shift, size=n))
    if live:
        words[::50] = ["oops"] * len(words[::50])
    amount = rng.integers(0, 100, n) + (0.5 if live and part == 1 else 0.0)
    cats = ["a", "b", "", "NA", "null"] if not live else ["a", "b", "c", "", "NA"]
    # live: u1 seven times, u2 six, ..., u7 once
    unseen = ["a"] * (n - 28) + [u for i, u in enumerate(UNSEEN) for _ in range(7 - i)] if live else ["a"] * n
    out = {
        "nan_inf": nan_inf,
        "big": _numbers(rng.normal(shift, size=n) * 1e300),
        "tiny": _numbers(rng.normal(shift, size=n) * 1e-300),
        "flat": ["3.0"] * n,
        "empty_live": [""] * n if live else _numbers(rng.normal(size=n)),
        "words": words,
        "amount": [repr(int(a)) if a == int(a) else repr(float(a)) for a in amount],
        "ties": [str(v) for v in rng.integers(0, 3 + int(live), n)],
        "low": _numbers(rng.normal(size=n)) if live else ["3.0"] * n,  # live entirely below a constant
        "when": [
            f"2025-01-{d:02d}T{h:02d}:04:05"
            for d, h in zip(rng.integers(1, 28, n), rng.integers(0, 24, n), strict=True)
        ],
        "day": [
            f"2025-{m:02d}-{d:02d}"
            for m, d in zip(rng.integers(1 + live, 13, n), rng.integers(1, 29, n), strict=True)
        ],
        "piled": _numbers(np.where(rng.random(n) < 0.3, 0.0, rng.exponential(size=n)) - shift),
        "tok": [cats[i] for i in rng.integers(0, len(cats), n)],
        "unseen": unseen,
    }
    if not live:
        out["gone"] = _numbers(rng.normal(size=n))
    return out


def _until_done(analyzer: DriftAnalyzer, config: DriftConfig = CONFIG) -> DriftResult:
    return until_done(analyzer, config, NOW)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> tuple[DriftResult, DriftResult]:
    """(Spark's result, the in-process result) on one CSV reference and a live folder of two CSV files."""
    d = tmp_path_factory.mktemp("edge")
    rng = np.random.default_rng(17)
    _write(d / "ref.csv", _window(rng, 3000, False))
    (d / "live").mkdir()
    for part in (0, 1):
        _write(d / "live" / f"part-{part}.csv", _window(rng, 1000, True, part))

    def sources() -> Sources:
        return Sources(FileSource(str(d / "ref.csv"), "csv"), FileSource(str(d / "live"), "csv"))

    local = DriftAnalyzer(sources()).run(AnalysisConfig(drift=CONFIG), NOW)
    pushed = DriftAnalyzer(sources(), Pushdown(LocalSpark(str(d / "jobs")), 1024, poll_seconds=0.5))
    return _until_done(pushed), local


def _same_results(spark: DriftResult, local: DriftResult) -> None:
    assert (spark.verdict, spark.message) == (local.verdict, local.message)
    for s, lo in zip(spark.features, local.features, strict=True):
        same = (lo.feature, lo.verdict, lo.method, lo.why, lo.message, lo.reference_rows, lo.live_rows)
        assert (s.feature, s.verdict, s.method, s.why, s.message, s.reference_rows, s.live_rows) == same
        assert s.missing_live == pytest.approx(lo.missing_live, abs=1e-12)
        if lo.statistic is not None:
            assert s.statistic == pytest.approx(lo.statistic, rel=1e-9, abs=1e-12), lo.feature
        assert set(s.distances) == set(lo.distances), lo.feature
        for key, value in lo.distances.items():
            assert s.distances[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (lo.feature, key)
        assert s.engine.startswith("spark: the ")


def test_every_edge_case_gives_the_in_process_result_on_spark(edge: tuple[DriftResult, DriftResult]) -> None:
    _same_results(*edge)
    assert all(f.engine.startswith("spark: the reference is ") for f in edge[0].features)


def test_what_each_edge_case_gives(edge: tuple[DriftResult, DriftResult]) -> None:
    """The in-process result, which Spark's equals, is right in itself."""
    _, local = edge
    f = {r.feature: r for r in local.features}
    # 1e300: the normaliser no longer overflows to inf, so a shift of half a standard deviation is drift
    assert f["big"].verdict is Verdict.FAILED
    assert 0.3 < f["big"].distances["wasserstein"] < 0.7
    assert (f["tiny"].verdict, f["tiny"].message) == (Verdict.FAILED, "")  # not 'constant': it varies
    assert (f["flat"].verdict, f["flat"].message) == (Verdict.SUCCESSFUL, "constant in both windows")
    assert f["empty_live"].verdict is Verdict.INSUFFICIENT_DATA
    assert f["empty_live"].message.startswith("empty_live: 3000 valid reference values and 0 live")
    assert (f["nan_inf"].reference_rows, f["words"].live_rows) == (2997, 1960)  # tokens, words: missing
    assert f["amount"].live_rows == 2000  # whole numbers in one file, decimals in the other: all read
    assert f["gone"].message == "gone: column missing from the live window"
    assert f["gone"].why == "chosen for numerical data with 3000 reference rows (> 1000)"
    assert f["ties"].method is DriftMethod.WASSERSTEIN
    # below a reference piled at its minimum: a bin of its own, so the drift shows
    assert (f["low"].verdict, f["piled"].verdict) == (Verdict.FAILED, Verdict.FAILED)
    # times as seconds since the epoch (a date at its midnight): hours apart, not microseconds nor days
    assert 1e3 < f["when"].distances["wasserstein_raw"] < 1e6
    assert f["day"].verdict is Verdict.FAILED  # January never in the live window
    assert f["tok"].reference_rows < 3000 * 0.5  # '', NA and null are missing, not categories
    assert f["unseen"].message.startswith("categories unseen in the reference: 'u1', 'u2', 'u3', 'u4', 'u5'")
    assert f["nan_inf"].p_value is not None
    assert f["nan_inf"].p_value < 1e-6


def test_a_job_whose_live_file_is_not_parquet_is_inconclusive_and_says_what_spark_could_not_read(
    tmp_path: Path,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": np.random.default_rng(1).normal(size=3000)}), tmp_path / "ref.parquet")
    (tmp_path / "live.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 8)  # a name, not a Parquet file
    config = DriftConfig(features=(FeatureConfig("x", NUM, DriftMethod.KS),), min_samples=100)
    sources = Sources(
        FileSource(str(tmp_path / "ref.parquet"), "parquet"),
        FileSource(str(tmp_path / "live.parquet"), "parquet"),
    )
    analyzer = DriftAnalyzer(sources, Pushdown(LocalSpark(str(tmp_path / "jobs")), 1024, poll_seconds=0.5))
    deadline = time.monotonic() + 300
    while True:
        try:
            result = analyzer.run(AnalysisConfig(drift=config), NOW)
            break
        except AnalysisPending:
            assert time.monotonic() < deadline, "the local Spark job did not end in 300 s"
            time.sleep(0.5)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.features == ()
    assert result.message.startswith("drift not evaluated: Spark job drift-")
    # Spark's own words, naming the file, not the last lines of a JVM stack ('at java.base/...')
    assert "failed: Py4JJavaError: org.apache.spark.SparkException: [FAILED_READ_FILE" in result.message
    assert f"{tmp_path}/live.parquet" in result.message
    assert "\tat " not in result.message
    assert "java.base" not in result.message


JSON_CONFIG = DriftConfig(
    features=(
        FeatureConfig("opt", NUM, DriftMethod.KS),
        FeatureConfig("mixed", NUM, DriftMethod.KS),
        FeatureConfig("typed", NUM, DriftMethod.KS),
        FeatureConfig("neg0", NUM, DriftMethod.KS),
        FeatureConfig("huge", NUM, DriftMethod.WASSERSTEIN),
        FeatureConfig("kind", CAT, DriftMethod.CHI_SQUARED),
        FeatureConfig("flag", CAT, DriftMethod.CHI_SQUARED),
        FeatureConfig("cz", CAT, DriftMethod.CHI_SQUARED),
    ),
    min_samples=100,
    drift_share=0.9,
)


def _json_rows(rng: np.random.Generator, n: int, live: bool, part: int = 0) -> str:
    shift = 0.4 if live else 0.0
    out = []
    for i in range(n):
        row: dict[str, object] = {
            "neg0": -0.0 if live and i % 2 else 0.0 if i % 2 else 1.0,
            "huge": float(rng.normal(shift)) * 1e300,
            "kind": ["a", "b", "c"][int(rng.integers(0, 3 if live else 2))],
            "flag": bool(i % 3) if part == 0 else i % 3,  # booleans, then in one live file 0, 1, 2
            "cz": [0.0, -0.0 if live else 0.0, 0.5][i % 3],  # -0.0 is the category 0
        }
        if i > 0:  # absent from each file's first row
            row["opt"] = float(rng.normal(shift))
        v = float(rng.normal(shift))
        row["mixed"] = "oops" if i % 40 == 1 else True if i % 40 == 2 else repr(v) if i % 3 else v
        row["typed"] = repr(v) if live and part == 1 else round(v * 100)
        out.append(json.dumps(row))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def json_edge(tmp_path_factory: pytest.TempPathFactory) -> tuple[DriftResult, DriftResult]:
    """(Spark, in-process) on JSON lines: a key missing from each file's first row, a column mixing numbers,
    numeric text, words and booleans, a column that is numbers in one live file and text in the other."""
    d = tmp_path_factory.mktemp("json")
    rng = np.random.default_rng(23)
    (d / "ref.jsonl").write_text(_json_rows(rng, 1500, False))
    (d / "live").mkdir()
    for part in (0, 1):
        (d / "live" / f"part-{part}.jsonl").write_text(_json_rows(rng, 800, True, part))

    def sources() -> Sources:
        return Sources(FileSource(str(d / "ref.jsonl"), "jsonl"), FileSource(str(d / "live"), "jsonl"))

    local = DriftAnalyzer(sources()).run(AnalysisConfig(drift=JSON_CONFIG), NOW)
    pushed = DriftAnalyzer(sources(), Pushdown(LocalSpark(str(d / "jobs")), 1024, poll_seconds=0.5))
    return _until_done(pushed, JSON_CONFIG), local


def test_json_lines_edge_cases_give_the_in_process_result_on_spark(
    json_edge: tuple[DriftResult, DriftResult],
) -> None:
    spark, local = json_edge
    _same_results(spark, local)
    f = {r.feature: r for r in local.features}
    assert (f["opt"].reference_rows, f["opt"].live_rows) == (1499, 1598)  # all but each file's first row
    assert f["typed"].live_rows == 1600  # numbers in one live file, numeric text in the other
    assert f["mixed"].missing_live == pytest.approx(2 * 40 / 1600)  # words and booleans are missing
    assert f["neg0"].verdict is Verdict.SUCCESSFUL  # -0.0 is 0.0
    assert (f["cz"].verdict, f["cz"].message) == (Verdict.SUCCESSFUL, "")  # no unseen category -0.0
    assert f["cz"].p_value is not None
    assert f["cz"].p_value > 0.9
    assert f["huge"].verdict is Verdict.FAILED
    assert f["kind"].message.startswith("categories unseen in the reference: 'c'")
    # booleans in one live file, numbers in the other: the live column is text in both engines
    assert f["flag"].message.startswith("categories unseen in the reference: 'true', '0', '1', 'false', '2'")


def test_a_feature_the_reference_lacks_is_the_in_process_error_through_a_real_job(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    pq.write_table(pa.table({"x": rng.normal(size=3000)}), tmp_path / "ref.parquet")
    pq.write_table(
        pa.table({"x": rng.normal(size=2000), "y": rng.normal(size=2000)}), tmp_path / "live.parquet"
    )
    features = (FeatureConfig("x", NUM, DriftMethod.KS), FeatureConfig("y", NUM, DriftMethod.KS))
    config = DriftConfig(features=features, min_samples=100)

    def sources() -> Sources:
        ref, live = str(tmp_path / "ref.parquet"), str(tmp_path / "live.parquet")
        return Sources(FileSource(ref, "parquet"), FileSource(live, "parquet"))

    local = DriftAnalyzer(sources()).run(AnalysisConfig(drift=config), NOW)
    pushed = DriftAnalyzer(sources(), Pushdown(LocalSpark(str(tmp_path / "jobs")), 1024, poll_seconds=0.5))
    spark = _until_done(pushed, config)
    assert (spark.verdict, spark.message) == (local.verdict, local.message)
    assert spark.verdict is Verdict.ERROR
    assert "drift features ['y'] are not columns of the reference data (columns: ['x'])" in spark.message
