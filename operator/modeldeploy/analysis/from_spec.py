"""The thin mapping between the CRD (api.analysis / api.status) and the engine's own dataclasses."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime

from ..api import analysis as spec
from ..api import status
from .types import (
    AnalysisConfig,
    CompareCheck,
    Correction,
    DriftConfig,
    DriftMethod,
    FeatureConfig,
    FeatureKind,
    FeatureResult,
    MetricCheck,
    RunResult,
)

TEST_METHODS: dict[str, DriftMethod] = {
    "ks": DriftMethod.KS,
    "wasserstein": DriftMethod.WASSERSTEIN,
    "psi": DriftMethod.PSI,
    "jensenShannon": DriftMethod.JENSEN_SHANNON,
    "chiSquared": DriftMethod.CHI_SQUARED,
}
_CORRECTIONS = {
    "none": Correction.NONE,
    "bonferroni": Correction.BONFERRONI,
    "benjaminiHochberg": Correction.BENJAMINI_HOCHBERG,
}
_TEST_NAMES = {v: k for k, v in TEST_METHODS.items()}


def _method(test: str | None) -> DriftMethod:
    """The spec's test, or AUTO: the engine then picks by type and reference size (methods.choose_method)."""
    return DriftMethod.AUTO if test is None else TEST_METHODS[test]


def metric_check(metric: spec.Metric, params: dict[str, str] | None = None) -> MetricCheck:
    """``params`` carries what the spec leaves to the operator: the endpoint's resource id, the selector."""
    query = metric.builtin or metric.query or ""
    return MetricCheck(metric.name, metric.provider, query, metric.min, metric.max, dict(params or {}))


def compare_check(metric: spec.Metric, baseline_params: dict[str, str] | None) -> CompareCheck | None:
    """``baseline_params`` select the stable revision; None (no stable revision) skips the comparison."""
    c = metric.compare
    if c is None:
        return None
    return CompareCheck(
        c.test, c.hypothesis, c.better, c.margin, c.alpha, c.min_samples, baseline_params=baseline_params
    )


def drift_config(drift: spec.Drift) -> DriftConfig:
    features = tuple(
        FeatureConfig(f.name, FeatureKind.NUMERICAL, _method(f.test), f.effective_threshold())
        for f in drift.numerical
    ) + tuple(
        FeatureConfig(f.name, FeatureKind.CATEGORICAL, _method(f.test), f.effective_threshold())
        for f in drift.categorical
    )
    predictions: tuple[FeatureConfig, ...] = ()
    if drift.prediction is not None:
        p = drift.prediction
        predictions = (
            FeatureConfig(p.column, FeatureKind(p.type), _method(p.test), p.effective_threshold()),
        )
    return DriftConfig(
        features=features,
        prediction_features=predictions,
        drift_share=drift.drifted_share_threshold,
        correction=_CORRECTIONS[drift.correction],
        min_samples=drift.min_sample_size,
    )


def analysis_config(
    analysis: spec.Analysis,
    window_seconds: float,
    params: dict[str, str] | None = None,
    baseline_params: dict[str, str] | None = None,
) -> AnalysisConfig:
    metrics = tuple(
        dataclasses.replace(metric_check(m, params), compare=compare_check(m, baseline_params))
        for m in analysis.metrics
    )
    drift = drift_config(analysis.drift) if analysis.drift is not None else None
    return AnalysisConfig(metrics=metrics, drift=drift, window_seconds=window_seconds)


def feature_record(f: FeatureResult) -> status.FeatureDrift:
    """For KS and chi-squared the engine compares a (corrected) p-value with the threshold: the status shows
    that p-value and the test statistic itself (D, chi-squared) separately."""
    if f.method in (DriftMethod.KS, DriftMethod.CHI_SQUARED):
        raw = f.distances.get("ks_statistic" if f.method is DriftMethod.KS else "chi2_statistic")
        statistic, p_value, distance = raw, f.statistic, None
    else:
        statistic, p_value, distance = f.statistic, f.p_value, f.statistic
    return status.FeatureDrift(
        feature=f.feature,
        test=_TEST_NAMES[f.method],
        test_chosen=f.why,
        engine=f.engine,
        statistic=statistic,
        p_value=p_value,
        distance=distance,
        threshold=f.threshold,
        verdict=f.verdict,
        message=status.truncate(f.message),
    )


def drift_id(result: RunResult) -> str | None:
    """Stable across runs that see the same drifted features, so retraining fires once per drift."""
    if result.drift is None or result.drift.verdict.value != "Failed":
        return None
    names = sorted(f.feature for f in result.drift.features + result.drift.predictions if f.drifted)
    return hashlib.sha256(",".join(names).encode()).hexdigest()[:12]


def status_record(
    result: RunResult, revision: str, step_index: int | None, time: datetime
) -> status.AnalysisResult:
    drift = result.drift
    return status.AnalysisResult(
        revision=revision,
        step_index=step_index,
        time=time,
        verdict=result.verdict,
        message=result.message,
        metrics=[
            status.MetricResult(
                name=m.name, value=m.value, verdict=m.verdict, message=m.message, comparison=m.comparison
            )
            for m in result.metrics
        ],
        drift=[feature_record(f) for f in (drift.features + drift.predictions if drift else ())],
        dataset_drift_share=drift.drifted_share if drift else None,
        drift_detected=bool(drift and drift.verdict.value == "Failed"),
        drift_id=drift_id(result),
        drift_verdict=drift.verdict if drift else None,
    )
