"""The real pushdown path with pyspark in local mode: the shipped entry file runs in a child process exactly
as LocalSpark starts it, the operator submits and polls without waiting, and the result equals the
in-process engine's on the same files (verdicts, statistics to 1e-9). One Spark job for the whole module:
a JVM start is the cost."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modeldeploy.analysis.drift import detect_drift
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
    analyzer = DriftAnalyzer(sources, Pushdown(LocalSpark(str(d / "jobs")), 1024, poll_seconds=0.5))
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
    columns = {n: ref.column(n).to_numpy() if n != "colour" else ref.column(n) for n in ref.column_names}
    live_columns = {
        n: live.column(n).to_numpy() if n != "colour" else live.column(n) for n in live.column_names
    }
    return spark_result, detect_drift(CONFIG, columns, live_columns), submitted


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
