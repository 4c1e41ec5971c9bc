"""The metrics a status write produces, read back through the Prometheus text exposition."""

from __future__ import annotations

import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modeldeploy.api.status import (
    AnalysisResult,
    FeatureDrift,
    MetricResult,
    ModelDeploymentStatus,
    Phase,
    Traffic,
    Verdict,
)
from modeldeploy.observability import metrics


def _samples(ns: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for fam in text_string_to_metric_families(metrics.exposition().decode()):
        for s in fam.samples:
            if s.labels.get("namespace") == ns:
                labels = frozenset((k, v) for k, v in s.labels.items() if k not in ("namespace", "name"))
                out[(s.name, labels)] = s.value
    return out


def _ns() -> str:
    return f"ns-{uuid.uuid4().hex[:8]}"


def _drifted_analysis() -> AnalysisResult:
    return AnalysisResult(
        revision="m-2",
        time=datetime(2025, 1, 1, tzinfo=UTC),
        verdict=Verdict.FAILED,
        metrics=[MetricResult(name="error-rate", value=0.002, verdict=Verdict.SUCCESSFUL)],
        drift=[
            FeatureDrift(
                feature="age", test="ks", statistic=0.4, p_value=1e-9, threshold=0.05, verdict=Verdict.FAILED
            ),
            FeatureDrift(
                feature="income",
                test="psi",
                statistic=0.03,
                distance=0.03,
                threshold=0.2,
                verdict=Verdict.SUCCESSFUL,
            ),
        ],
        dataset_drift_share=0.5,
        drift_detected=True,
        drift_id="abc",
    )


def test_a_drift_rollback_sets_phase_traffic_drift_and_counts_one_rollback() -> None:
    ns = _ns()
    progressing = ModelDeploymentStatus(
        phase=Phase.PROGRESSING, traffic=Traffic(weights={"m-1": 75, "m-2": 25}), current_step_index=1
    )
    rolled = ModelDeploymentStatus(
        phase=Phase.ROLLED_BACK, traffic=Traffic(weights={"m-1": 100}), last_analysis=_drifted_analysis()
    )
    metrics.record_status(ns, "m", ModelDeploymentStatus(), progressing)
    s = _samples(ns)
    assert s[("modeldeploy_rollout_phase", frozenset({("phase", "Progressing")}))] == 1
    assert s[("modeldeploy_rollout_phase", frozenset({("phase", "Promoted")}))] == 0
    assert s[("modeldeploy_traffic_weight_percent", frozenset({("revision", "m-2")}))] == 25
    assert s[("modeldeploy_rollout_step_index", frozenset())] == 1

    metrics.record_status(ns, "m", progressing, rolled)
    metrics.record_status(
        ns, "m", rolled, rolled
    )  # a second write in the same phase is not a second rollback
    s = _samples(ns)
    assert s[("modeldeploy_rollout_phase", frozenset({("phase", "RolledBack")}))] == 1
    assert s[("modeldeploy_rollout_phase", frozenset({("phase", "Progressing")}))] == 0
    assert ("modeldeploy_traffic_weight_percent", frozenset({("revision", "m-2")})) not in s
    assert s[("modeldeploy_rollbacks_total", frozenset({("reason", "drift")}))] == 1
    assert s[("modeldeploy_analysis_runs_total", frozenset({("verdict", "Failed")}))] == 1
    assert s[("modeldeploy_drift_statistic", frozenset({("feature", "age"), ("test", "ks")}))] == 1e-9
    assert s[("modeldeploy_drift_statistic", frozenset({("feature", "income"), ("test", "psi")}))] == 0.03
    assert s[("modeldeploy_drift_feature_drifted", frozenset({("feature", "age")}))] == 1
    assert s[("modeldeploy_drift_feature_drifted", frozenset({("feature", "income")}))] == 0
    assert s[("modeldeploy_drift_dataset_share", frozenset())] == 0.5
    assert s[("modeldeploy_analysis_metric_value", frozenset({("metric", "error-rate")}))] == 0.002
    assert s[("modeldeploy_phase_transitions_total", frozenset({("phase", "RolledBack")}))] == 1


def test_metric_breach_and_abort_are_told_apart_from_drift() -> None:
    breach = AnalysisResult(
        verdict=Verdict.FAILED, metrics=[MetricResult(name="p99", value=0.9, verdict=Verdict.FAILED)]
    )
    assert (
        metrics.rollback_reason(ModelDeploymentStatus(phase=Phase.ROLLED_BACK, last_analysis=breach))
        == "metrics"
    )
    assert (
        metrics.rollback_reason(ModelDeploymentStatus(phase=Phase.DEGRADED, last_analysis=breach))
        == "aborted"
    )
    assert metrics.rollback_reason(ModelDeploymentStatus(phase=Phase.ROLLED_BACK)) == "analysis"


def _global(name: str, **labels: str) -> float:
    for fam in text_string_to_metric_families(metrics.exposition().decode()):
        for s in fam.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0


def test_reconcile_timing_backend_errors_and_forget() -> None:
    ns = _ns()
    seconds_before = _global("modeldeploy_reconcile_duration_seconds_sum", outcome="ok")
    quick_before = _global("modeldeploy_reconcile_duration_seconds_bucket", outcome="ok", le="0.25")
    metrics.observe_reconcile(ns, "m", 0.2, "ok")
    metrics.observe_reconcile(ns, "m", 0.4, "ok")
    metrics.record_backend_error(ns, "m", "azureml", "QuotaExceeded")
    metrics.record_status(ns, "m", ModelDeploymentStatus(), ModelDeploymentStatus(phase=Phase.PROMOTED))
    metrics.record_analysis(ns, "m", _drifted_analysis())
    s = _samples(ns)
    assert s[("modeldeploy_reconciles_total", frozenset({("outcome", "ok")}))] == 2
    # The duration histogram is per outcome only (16 series per resource would not scale to thousands).
    seconds = _global("modeldeploy_reconcile_duration_seconds_sum", outcome="ok") - seconds_before
    assert seconds == pytest.approx(0.2 + 0.4)
    quick = _global("modeldeploy_reconcile_duration_seconds_bucket", outcome="ok", le="0.25") - quick_before
    assert quick == 1
    assert (
        s[
            (
                "modeldeploy_backend_errors_total",
                frozenset({("backend", "azureml"), ("reason", "QuotaExceeded")}),
            )
        ]
        == 1
    )
    metrics.forget(ns, "m")
    assert _samples(ns) == {}


def test_metrics_server_serves_the_registry() -> None:
    ns = _ns()
    metrics.record_phase(ns, "m", "Progressing")
    port = metrics.start_metrics_server(0, "127.0.0.1")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert f'modeldeploy_rollout_phase{{name="m",namespace="{ns}",phase="Progressing"}} 1.0' in body
    assert "python_gc_objects_collected_total" not in body  # our own registry, not the default one
