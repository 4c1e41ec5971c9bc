"""The ended-run metric infra's failed-run alert reads: name, value and properties as exported."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from modeldeploy.observability.batch_runs import (
    METRIC_NAME,
    NoRunMetrics,
    OpenTelemetryRunMetrics,
    sink_from_environment,
)


def test_each_ended_run_is_one_point_with_its_outcome() -> None:
    reader = InMemoryMetricReader()
    sink = OpenTelemetryRunMetrics(reader)
    sink.record("ml", "churn", "manual", "failed")
    sink.record("ml", "churn", "schedule", "succeeded")
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    assert metric.name == METRIC_NAME
    points = {p.attributes["outcome"]: p for p in metric.data.data_points}
    assert points["failed"].sum == 1.0
    assert dict(points["failed"].attributes) == {
        "namespace": "ml",
        "name": "churn",
        "trigger": "manual",
        "outcome": "failed",
    }
    sink.shutdown()


def test_without_a_connection_string_nothing_is_sent() -> None:
    assert isinstance(sink_from_environment({}), NoRunMetrics)
    assert isinstance(sink_from_environment({"MODELDEPLOY_APPINSIGHTS_CONNECTION_STRING": "x"}), NoRunMetrics)


def test_the_metric_name_is_the_one_infra_alerts_on() -> None:
    from kdap_infra.alert_queries import BATCH_RUN_METRIC

    assert METRIC_NAME == BATCH_RUN_METRIC
