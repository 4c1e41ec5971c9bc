"""Prometheus metrics, JSON logs with the resource bound, and the instrumented operator wiring."""

from modeldeploy.observability.logs import JsonFormatter, bound, configure_json_logging
from modeldeploy.observability.metrics import (
    REGISTRY,
    forget,
    observe_reconcile,
    record_analysis,
    record_backend_error,
    record_drift,
    record_event,
    record_phase,
    record_rollback,
    record_status,
    start_metrics_server,
)

__all__ = [
    "REGISTRY",
    "JsonFormatter",
    "bound",
    "configure_json_logging",
    "forget",
    "observe_reconcile",
    "record_analysis",
    "record_backend_error",
    "record_drift",
    "record_event",
    "record_phase",
    "record_rollback",
    "record_status",
    "start_metrics_server",
]
