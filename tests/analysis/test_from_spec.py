"""Spec -> engine config and engine result -> status records."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from modeldeploy.analysis.drift import detect_drift
from modeldeploy.analysis.from_spec import analysis_config, status_record
from modeldeploy.analysis.types import (
    Correction,
    DriftMethod,
    FeatureKind,
    MetricOutcome,
    RunResult,
    Verdict,
)
from modeldeploy.api import analysis as spec
from modeldeploy.api import status

SPEC = spec.Analysis.model_validate(
    {
        "metrics": [{"name": "errors", "provider": "prometheus", "builtin": "errorRate", "max": 0.02}],
        "drift": {
            "reference": {"uri": "file:///data/ref.parquet"},
            "live": {"uri": "file:///data/live", "format": "jsonl"},
            "numerical": [{"name": "age", "test": "psi"}],
            "categorical": [{"name": "city"}],
            "prediction": {"column": "score"},
            "correction": "bonferroni",
            "minSampleSize": 200,
        },
    }
)


def test_spec_maps_to_engine_config() -> None:
    cfg = analysis_config(SPEC, 300.0, {"selector": 'job="m"'})
    assert cfg.metrics[0].query == "errorRate"
    assert cfg.metrics[0].params == {"selector": 'job="m"'}
    assert cfg.drift is not None
    age, city = cfg.drift.features
    assert (age.kind, age.method, age.threshold) == (FeatureKind.NUMERICAL, DriftMethod.PSI, 0.2)
    # No test in the spec: the engine chooses (methods.choose_method), with that test's default threshold.
    assert (city.kind, city.method, city.threshold) == (FeatureKind.CATEGORICAL, DriftMethod.AUTO, None)
    assert cfg.drift.prediction_features[0].method is DriftMethod.AUTO
    assert (cfg.drift.correction, cfg.drift.min_samples) == (Correction.BONFERRONI, 200)


def test_results_map_to_status_records() -> None:
    cfg = analysis_config(SPEC, 300.0)
    assert cfg.drift is not None
    rng = np.random.default_rng(0)
    ref = {"age": rng.normal(40, 10, 3000), "city": rng.choice(["a", "b"], 3000), "score": rng.random(3000)}
    live = {"age": rng.normal(55, 10, 3000), "city": rng.choice(["a", "c"], 3000), "score": rng.random(3000)}
    drift = detect_drift(cfg.drift, ref, live)
    outcome = MetricOutcome("errors", Verdict.SUCCESSFUL, 0.01)
    result = RunResult(Verdict.FAILED, (outcome,), drift, "drift")
    when = datetime(2025, 1, 1, tzinfo=UTC)
    record = status_record(result, "rev-2", 1, when)
    assert record.verdict is status.Verdict.FAILED
    assert record.metrics[0].value == 0.01
    assert [(d.feature, d.test, d.verdict) for d in record.drift] == [
        ("age", "psi", status.Verdict.FAILED),
        ("city", "jensenShannon", status.Verdict.FAILED),  # large reference: distances decide
        ("score", "wasserstein", status.Verdict.SUCCESSFUL),
    ]
    assert record.drift[0].distance == record.drift[0].statistic
    assert record.drift_detected
    assert record.dataset_drift_share == 1.0
    again = status_record(result, "rev-2", 2, when)
    assert record.drift_id is not None
    assert again.drift_id == record.drift_id


def test_p_value_tests_report_the_statistic_and_the_p_value_apart() -> None:
    from scipy import stats

    drift = spec.Drift.model_validate(
        {
            "reference": {"uri": "file:///r.parquet"},
            "live": {"uri": "file:///l.parquet"},
            "numerical": [{"name": "x", "test": "ks"}],
            "categorical": [{"name": "c", "test": "chiSquared"}],
            "correction": "none",
            "minSampleSize": 100,
        }
    )
    cfg = analysis_config(spec.Analysis(drift=drift), 60.0)
    assert cfg.drift is not None
    rng = np.random.default_rng(1)
    ref = {"x": rng.normal(0, 1, 800), "c": rng.choice(["a", "b", "c"], 800)}
    live = {"x": rng.normal(0.3, 1, 800), "c": rng.choice(["a", "b", "c"], 800, p=[0.5, 0.3, 0.2])}
    result = RunResult(Verdict.FAILED, (), detect_drift(cfg.drift, ref, live), "")
    x, c = status_record(result, "r", 0, datetime(2025, 1, 1, tzinfo=UTC)).drift
    ks = stats.ks_2samp(ref["x"], live["x"])
    assert x.statistic is not None
    assert x.p_value is not None
    assert abs(x.statistic - ks.statistic) < 1e-9
    assert abs(x.p_value - ks.pvalue) < 1e-9
    assert x.distance is None
    assert c.statistic is not None
    assert c.statistic > 1.0  # the chi-squared statistic, not a probability
    assert c.p_value is not None
    assert 0.0 <= c.p_value <= 1.0


def test_a_spec_without_tests_gets_ks_and_chi_squared_on_a_small_reference() -> None:
    """The engine's automatic choice is reachable from the CRD: hypothesis tests while samples are small."""
    cfg = analysis_config(SPEC, 300.0)
    assert cfg.drift is not None
    rng = np.random.default_rng(1)
    n = 600  # at most DriftConfig.small_sample_rows
    ref = {"age": rng.normal(40, 10, n), "city": rng.choice(["a", "b"], n), "score": rng.random(n)}
    live = {"age": rng.normal(40, 10, n), "city": rng.choice(["a", "b"], n), "score": rng.random(n)}
    record = status_record(RunResult(Verdict.SUCCESSFUL, (), detect_drift(cfg.drift, ref, live), ""), "r", 0,
                           datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    assert [(d.feature, d.test, d.threshold) for d in record.drift] == [
        ("age", "psi", 0.2),
        ("city", "chiSquared", 0.05),
        ("score", "ks", 0.05),
    ]
    # and the status says why, so nobody needs the rule to read the verdict
    assert [d.test_chosen for d in record.drift] == [
        "set in the spec",
        "chosen for categorical data with 600 reference rows (<= 1000)",
        "chosen for numerical data with 600 reference rows (<= 1000)",
    ]
    assert [d.engine for d in record.drift] == ["in-process"] * 3  # and which engine computed it


def test_why_a_feature_was_not_tested_or_stands_out_reaches_the_status_and_the_report() -> None:
    """A constant feature, one with no live values and one missing from the live window: the engine says
    why in each result's message, and that reason must reach the status and the report's drift table (it
    was dropped there: the report showed 'InsufficientData' without saying what was insufficient)."""
    from modeldeploy.report.html import drift_section

    drift = spec.Drift.model_validate(
        {
            "reference": {"uri": "file:///r.parquet"},
            "live": {"uri": "file:///l.parquet"},
            "numerical": [{"name": n, "test": "ks"} for n in ("flat", "empty", "gone")],
            "minSampleSize": 100,
        }
    )
    cfg = analysis_config(spec.Analysis(drift=drift), 60.0)
    assert cfg.drift is not None
    rng = np.random.default_rng(2)
    ref = {"flat": np.full(500, 2.0), "empty": rng.normal(size=500), "gone": rng.normal(size=500)}
    live = {"flat": np.full(400, 2.0), "empty": np.full(400, np.nan)}
    result = RunResult(Verdict.INCONCLUSIVE, (), detect_drift(cfg.drift, ref, live), "")
    record = status_record(result, "r", 0, datetime(2025, 1, 1, tzinfo=UTC))
    assert [(d.feature, d.verdict, d.message) for d in record.drift] == [
        ("flat", status.Verdict.SUCCESSFUL, "constant in both windows"),
        (
            "empty",
            status.Verdict.INSUFFICIENT_DATA,
            "empty: 500 valid reference values and 0 live; at least 100 needed in each "
            "(raise the window or lower drift.minSamples)",
        ),
        ("gone", status.Verdict.INSUFFICIENT_DATA, "gone: column missing from the live window"),
    ]
    body = {"status": {"lastAnalysis": record.model_dump(mode="json", by_alias=True)}}
    html = drift_section(body)
    assert "<th>note</th>" in html
    assert "constant in both windows" in html
    assert "gone: column missing from the live window" in html
    assert "empty: 500 valid reference values and 0 live" in html
    # and, like every free text copied into the status, it is cut to the status limit
    long = record.drift[0].model_copy(update={"message": "x" * 5000})
    analysis = record.model_copy(update={"drift": [long]})
    bounded = status.ModelDeploymentStatus(last_analysis=analysis).bounded()
    assert bounded.last_analysis is not None
    cut = bounded.last_analysis.drift[0].message
    assert len(cut) <= status.MAX_STATUS_TEXT
    assert "truncated" in cut
