"""Ended batch runs as the Application Insights custom metric the platform's failed-run alert reads.

infra's alert (``kdap_infra.alert_queries.batch_failed_query``) selects ``AppMetrics`` rows named
``kdap.batch.runs`` whose ``outcome`` property is ``failed`` and fires per ModelDeployment when their
``Sum`` over 15 minutes is above 0. Each ended run records 1 with the properties namespace, name, trigger
(the kind: schedule, manual, dataArrival, validation) and outcome (succeeded, failed): a histogram, as for
drift distances, so Application Insights fills ``Sum`` and a point is sent once (delta temporality).

Configured by the same ``MODELDEPLOY_APPINSIGHTS_CONNECTION_STRING`` as the drift metric; without it
nothing is sent and the Prometheus counter ``modeldeploy_batch_runs_total`` is the only record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

METRIC_NAME = "kdap.batch.runs"  # infra/kdap_infra/alert_queries.py BATCH_RUN_METRIC; a test keeps them equal
CONNECTION_STRING_ENV = "MODELDEPLOY_APPINSIGHTS_CONNECTION_STRING"
EXPORT_INTERVAL_MS = 60_000


class RunSink(Protocol):
    def record(self, namespace: str, name: str, trigger: str, outcome: str) -> None: ...


class NoRunMetrics:
    def record(self, namespace: str, name: str, trigger: str, outcome: str) -> None:
        return None


class OpenTelemetryRunMetrics:
    """Records each ended run on the ``kdap.batch.runs`` histogram of a private MeterProvider."""

    def __init__(self, reader: Any) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource

        self.provider = MeterProvider(
            metric_readers=[reader], resource=Resource.create({"service.name": "modeldeploy"})
        )
        self._histogram = self.provider.get_meter("modeldeploy.batch").create_histogram(
            METRIC_NAME, description="ended batch runs (1 each) by ModelDeployment, trigger and outcome"
        )

    def record(self, namespace: str, name: str, trigger: str, outcome: str) -> None:
        attributes = {"namespace": namespace, "name": name, "trigger": trigger, "outcome": outcome}
        self._histogram.record(1.0, attributes=attributes)

    def shutdown(self) -> None:
        self.provider.shutdown()


def sink_from_environment(environ: Mapping[str, str] | None = None) -> RunSink:
    """The Application Insights sink when the connection string is set (the exporter loads only then)."""
    value = (os.environ if environ is None else environ).get(CONNECTION_STRING_ENV, "").strip()
    if not value or "instrumentationkey=" not in value.lower():
        return NoRunMetrics()  # the drift sink already refuses a malformed string at start
    from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exporter = AzureMonitorMetricExporter(connection_string=value, disable_offline_storage=True)
    return OpenTelemetryRunMetrics(
        PeriodicExportingMetricReader(exporter, export_interval_millis=EXPORT_INTERVAL_MS)
    )
