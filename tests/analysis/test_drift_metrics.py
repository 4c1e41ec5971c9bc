"""Drift distances published for infra's drift alert: names, values and properties the alert's KQL reads."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from azure.monitor.opentelemetry.exporter.export.metrics._exporter import (
    APPLICATION_INSIGHTS_METRIC_TEMPORALITIES,
    _convert_point_to_envelope,
)
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from kdap_infra.alert_queries import DRIFT_METRIC, drift_query
from modeldeploy.analysis.drift_metrics import (
    CONNECTION_STRING_ENV,
    METRIC_NAME,
    DriftPoint,
    NoDriftMetrics,
    OpenTelemetryDriftMetrics,
    drift_points,
    sink_from_environment,
)
from modeldeploy.analysis.service import AnalysisService
from modeldeploy.analysis.types import DriftMethod, DriftResult, FeatureKind, FeatureResult, Verdict
from modeldeploy.api.azure_names import deployment_name
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.ports import Owner
from modeldeploy.rollout.actions import RunAnalysis
from tests.backends.azureml.rig import EXAMPLES, example_manifest

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
OWNER = Owner("ml-serving", "budget-optimizer", "5b0c1b9e-0000-4000-8000-000000000002")
REVISION = "budget-optimizer-3f2a9c1d7e"


class RecordingSink:
    def __init__(self) -> None:
        self.points: list[DriftPoint] = []

    def publish(self, points: Sequence[DriftPoint]) -> None:
        self.points.extend(points)


class BrokenSink:
    def publish(self, points: Sequence[DriftPoint]) -> None:
        raise ConnectionError("ingestion endpoint unreachable")


def _data(path: Path, seed: int, spend_shift: float, n: int = 3000) -> str:
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "daily_spend": rng.normal(100.0 + spend_shift, 10.0, size=n),
            "conversion_rate": rng.beta(2, 50, size=n),
            "channel": rng.choice(["search", "social", "display"], size=n).tolist(),
            "prediction": rng.normal(0.0, 1.0, size=n),
        }
    )
    pq.write_table(table, path)
    return f"file://{path}"


# infra's name for the seed model's endpoint, as the example carries it
ENDPOINT = example_manifest("budget-optimizer")["spec"]["target"]["azureml"]["endpointName"]
assert ENDPOINT.startswith("kdap-budget-optimizer-")


def _spec(tmp_path: Path, kind: str = "azureml") -> ModelDeploymentSpec:
    """The budget optimizer example, drift on local files (the live daily spend shifted by 3 sigma)."""
    manifest: dict[str, Any] = example_manifest("budget-optimizer")["spec"]
    drift = manifest["analysis"]["drift"]
    drift["reference"]["uri"] = _data(tmp_path / "ref.parquet", 1, 0.0)
    drift["live"]["uri"] = _data(tmp_path / "live.parquet", 2, 30.0)
    del manifest["analysis"]["metrics"]
    if kind == "kubernetes":
        canary: dict[str, Any] = yaml.safe_load((EXAMPLES / "budget-optimizer-canary.yaml").read_text())
        manifest = canary["spec"] | {"analysis": manifest["analysis"]}
    return ModelDeploymentSpec.model_validate(manifest)


def _run(spec: ModelDeploymentSpec, sink: Any) -> Any:
    runner = AnalysisService(providers_for=lambda _: {}, drift_metrics=sink, data_root="/")
    return runner.run(OWNER, spec, RunAnalysis(REVISION, None, 0, NOW - timedelta(minutes=10)), NOW)


def test_each_tested_feature_is_published_with_its_distance_and_properties(tmp_path: Path) -> None:
    sink = RecordingSink()
    record = _run(_spec(tmp_path), sink)
    by_feature = {p.properties["feature"]: p for p in sink.points}
    assert set(by_feature) == {"daily_spend", "conversion_rate", "channel", "prediction"}
    for point in sink.points:
        assert point.properties["endpoint"] == ENDPOINT
        assert point.properties["deployment"] == deployment_name(REVISION)
        assert point.properties["revision"] == REVISION
    status = {d.feature: d for d in record.drift}
    spend = by_feature["daily_spend"]
    assert (spend.properties["test"], spend.properties["verdict"]) == ("wasserstein", "Failed")
    assert spend.value == pytest.approx(status["daily_spend"].distance)
    assert by_feature["conversion_rate"].properties["verdict"] == status["conversion_rate"].verdict.value
    assert by_feature["conversion_rate"].value == pytest.approx(status["conversion_rate"].distance)
    channel = by_feature["channel"]
    assert (channel.properties["test"], channel.properties["measure"]) == ("chisquared", "jensenshannon")
    assert 0.0 <= channel.value <= 1.0  # a distance, not the p-value
    assert by_feature["prediction"].properties["role"] == "prediction"
    assert spend.properties["role"] == "input"


def test_a_drifting_feature_publishes_more_than_a_stable_one(tmp_path: Path) -> None:
    sink = RecordingSink()
    _run(_spec(tmp_path), sink)
    by_feature = {p.properties["feature"]: p.value for p in sink.points}
    assert by_feature["daily_spend"] > 0.2 > by_feature["conversion_rate"]  # infra's default threshold


def test_kubernetes_targets_publish_nothing(tmp_path: Path) -> None:
    sink = RecordingSink()
    record = _run(_spec(tmp_path, "kubernetes"), sink)
    assert record.drift, "the drift analysis ran"
    assert sink.points == []


def test_a_failing_sink_never_fails_the_analysis(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    record = _run(_spec(tmp_path), BrokenSink())
    assert [d.feature for d in record.drift if d.verdict.value == "Failed"] == ["daily_spend"]
    assert "publishing drift metrics" in caplog.text


def _feature(method: DriftMethod, verdict: Verdict, **distances: float) -> FeatureResult:
    return FeatureResult("f", FeatureKind.NUMERICAL, method, verdict, distances=distances)


def test_p_value_tests_publish_a_distance_and_untested_features_nothing() -> None:
    result = DriftResult(
        Verdict.FAILED,
        (
            _feature(DriftMethod.KS, Verdict.FAILED, ks=1e-12, ks_statistic=0.31, jensenshannon=0.2),
            _feature(DriftMethod.PSI, Verdict.INSUFFICIENT_DATA),
            _feature(DriftMethod.JENSEN_SHANNON, Verdict.SUCCESSFUL, jensenshannon=float("nan")),
        ),
    )
    points = drift_points(result, endpoint="e", deployment="d", revision="r")
    assert [(p.value, p.properties["measure"]) for p in points] == [(0.31, "ks_statistic")]


def test_the_name_matches_infra_and_the_alert_query_reads_what_is_exported() -> None:
    """Through the real exporter's envelope conversion: AppMetrics Name, Max and Properties["endpoint"]."""
    assert METRIC_NAME == DRIFT_METRIC
    reader = InMemoryMetricReader(
        preferred_temporality=APPLICATION_INSIGHTS_METRIC_TEMPORALITIES
    )  # as exported
    sink = OpenTelemetryDriftMetrics(reader)
    props = {"endpoint": "budget-optimizer", "deployment": "d", "revision": "r", "feature": "daily_spend"}
    sink.publish([DriftPoint(0.42, props), DriftPoint(0.05, props | {"feature": "channel"})])
    data = reader.get_metrics_data()
    assert data is not None
    envelopes = [
        _convert_point_to_envelope(point, metric.name, rm.resource, sm.scope)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.data.data_points
    ]
    query = drift_query()
    name = re.search(r'where Name == "([^"]+)"', query)
    prop = re.search(r'Properties\["([^"]+)"\]', query)
    assert name is not None
    assert prop is not None
    rows = {}
    for envelope in envelopes:
        base = envelope.data.base_data
        (metric,) = base.metrics
        assert metric.name == name.group(1)
        rows[base.properties["feature"]] = (base.properties[prop.group(1)], metric.max)
    assert rows == {"daily_spend": ("budget-optimizer", 0.42), "channel": ("budget-optimizer", 0.05)}
    again = reader.get_metrics_data()  # delta: a point is exported once, not on every later export
    assert again is None or not again.resource_metrics
    sink.shutdown()


def test_the_sink_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(sink_from_environment({}), NoDriftMetrics)
    assert isinstance(sink_from_environment({CONNECTION_STRING_ENV: "  "}), NoDriftMetrics)
    with pytest.raises(ValueError, match=CONNECTION_STRING_ENV):
        sink_from_environment({CONNECTION_STRING_ENV: "https://westeurope.in.applicationinsights.azure.com/"})
    monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
    sink = sink_from_environment(
        {
            CONNECTION_STRING_ENV: "InstrumentationKey=00000000-0000-0000-0000-000000000001;"
            "IngestionEndpoint=http://127.0.0.1:9/"
        }
    )
    assert isinstance(sink, OpenTelemetryDriftMetrics)
    sink.shutdown()


def test_the_runner_reads_the_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONNECTION_STRING_ENV, raising=False)
    assert isinstance(AnalysisService()._drift_metrics, NoDriftMetrics)
    monkeypatch.setenv(CONNECTION_STRING_ENV, "not a connection string")
    with pytest.raises(ValueError, match=CONNECTION_STRING_ENV):
        AnalysisService()
