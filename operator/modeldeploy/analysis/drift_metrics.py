"""Drift distances as the Application Insights custom metric the platform's drift alert reads.

infra's drift alert (``kdap_infra.alert_queries.drift_query``) selects ``AppMetrics`` rows named
``kdap.drift.distance``, takes the endpoint from ``Properties["endpoint"]`` and fires when ``Max`` exceeds the
stack's ``drift_threshold``, documented as a distance in 0-1. After each drift analysis of an azureml target
the operator publishes one value per tested feature (and per tested prediction column) with the properties
endpoint, deployment, revision, feature, test, verdict, role (input/prediction) and measure.

The value is always a distance, never ``1 - p``: for large samples ``p`` collapses to 0 on the slightest
shift, so ``1 - p`` would sit near 1 and fire on noise. Distance tests (wasserstein, psi, jensenshannon)
publish their own statistic; KS publishes its statistic D (the largest gap between the two CDFs, 0-1), and
chi-squared the Jensen-Shannon distance of the same category histograms (0-1). ``measure`` names which one.
PSI and the normalised Wasserstein distance are not bounded by 1; large values mean large drift either way.
Features without a result (InsufficientData, Inconclusive) publish nothing.

The sink is configured by ``MODELDEPLOY_APPINSIGHTS_CONNECTION_STRING`` in the operator's environment (a
Secret, never the ModelDeployment); without it nothing is sent. The Application Insights sink records on an
OpenTelemetry histogram of its own MeterProvider (no global state), exported by azure-monitor-opentelemetry-
exporter every minute: a histogram because Application Insights needs explicit min/max to fill ``Max``, and
its delta temporality sends a point once, not again on every export.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from modeldeploy.analysis.types import DriftMethod, DriftResult, FeatureResult

METRIC_NAME = "kdap.drift.distance"  # infra/kdap_infra/alert_queries.py DRIFT_METRIC; a test keeps them equal
CONNECTION_STRING_ENV = "MODELDEPLOY_APPINSIGHTS_CONNECTION_STRING"
EXPORT_INTERVAL_MS = 60_000
log = logging.getLogger(__name__)

# The distance published for each test: its own statistic, or a 0-1 distance for the p-value tests.
_MEASURE = {
    DriftMethod.KS: "ks_statistic",
    DriftMethod.CHI_SQUARED: DriftMethod.JENSEN_SHANNON.value,
    DriftMethod.WASSERSTEIN: DriftMethod.WASSERSTEIN.value,
    DriftMethod.PSI: DriftMethod.PSI.value,
    DriftMethod.JENSEN_SHANNON: DriftMethod.JENSEN_SHANNON.value,
}


@dataclass(frozen=True)
class DriftPoint:
    value: float
    properties: Mapping[str, str]


class DriftMetricSink(Protocol):
    def publish(self, points: Sequence[DriftPoint]) -> None: ...


class NoDriftMetrics:
    """The sink when no connection string is configured."""

    def publish(self, points: Sequence[DriftPoint]) -> None:
        return None


def _point(result: FeatureResult, role: str, common: Mapping[str, str]) -> DriftPoint | None:
    measure = _MEASURE.get(result.method)
    value = result.distances.get(measure) if measure is not None else None
    if value is None or value != value:  # untested, or NaN
        return None
    return DriftPoint(
        float(value),
        dict(common)
        | {
            "feature": result.feature,
            "test": result.method.value,
            "verdict": result.verdict.value,
            "role": role,
            "measure": str(measure),
        },
    )


def drift_points(result: DriftResult, *, endpoint: str, deployment: str, revision: str) -> list[DriftPoint]:
    common = {"endpoint": endpoint, "deployment": deployment, "revision": revision}
    tested = [(f, "input") for f in result.features] + [(p, "prediction") for p in result.predictions]
    return [point for f, role in tested if (point := _point(f, role, common)) is not None]


class OpenTelemetryDriftMetrics:
    """Records each point on the ``kdap.drift.distance`` histogram of a private MeterProvider."""

    def __init__(self, reader: Any) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource

        self.provider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": "modeldeploy"})
        )
        self._histogram = self.provider.get_meter("modeldeploy.drift").create_histogram(
            METRIC_NAME, description="per-feature drift distance of a revision's live inputs"
        )

    def publish(self, points: Sequence[DriftPoint]) -> None:
        for point in points:
            self._histogram.record(point.value, attributes=dict(point.properties))

    def shutdown(self) -> None:
        self.provider.shutdown()


def application_insights(connection_string: str, **exporter_kwargs: Any) -> OpenTelemetryDriftMetrics:
    """Exported by azure-monitor-opentelemetry-exporter; offline storage off (the root filesystem may be
    read-only, and a drift point that could not be sent is superseded by the next analysis)."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exporter = AzureMonitorMetricExporter(
        connection_string=connection_string, disable_offline_storage=True, **exporter_kwargs
    )
    return OpenTelemetryDriftMetrics(
        PeriodicExportingMetricReader(exporter, export_interval_millis=EXPORT_INTERVAL_MS)
    )


def sink_from_environment(environ: Mapping[str, str] | None = None) -> DriftMetricSink:
    value = (os.environ if environ is None else environ).get(CONNECTION_STRING_ENV, "").strip()
    if not value:
        return NoDriftMetrics()
    if "instrumentationkey=" not in value.lower():
        raise ValueError(
            f"{CONNECTION_STRING_ENV} must be an Application Insights connection string "
            "(InstrumentationKey=...;IngestionEndpoint=...); unset it to publish no drift metrics"
        )
    return application_insights(value)
