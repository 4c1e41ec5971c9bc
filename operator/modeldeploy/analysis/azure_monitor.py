"""Azure Monitor metrics for Azure ML online endpoints, and KQL over Log Analytics.

azure-monitor-query 2.0 no longer ships ``MetricsQueryClient`` (only ``LogsQueryClient``); resource metrics
are read through azure-mgmt-monitor's ``MonitorManagementClient.metrics.list``, the same ARM metrics API.
Built-ins: latency percentiles (endpoint ``RequestLatency_P*``, averaged), request rate (``RequestsPerMinute``
total per minute), error rate (``RequestsPerMinute`` split by ``statusCodeClass``: there is no error metric),
CPU (deployment ``CpuUtilizationPercentage``). Any other query is a metric name read with ``params``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from .providers import RetryPolicy, TransientError, with_retries
from .types import MetricValue

_LATENCY = {f"latencyP{p}": f"RequestLatency_P{p}" for p in (50, 90, 95, 99)}


class MetricsOperations(Protocol):
    def list(self, resource_uri: str, **kwargs: Any) -> Any: ...


class LogsClient(Protocol):
    def query_workspace(self, workspace_id: str, query: str, **kwargs: Any) -> Any: ...


def _transient(exc: Exception) -> bool:
    if isinstance(exc, ServiceRequestError | ServiceResponseError | TimeoutError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(exc, HttpResponseError) and (status is None or status == 429 or status >= 500)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


class AzureMonitorProvider:
    """``params``: ``resource`` (the endpoint's ARM id; the deployment's for CPU), ``deployment`` (filters
    endpoint metrics to one deployment), ``aggregation`` and ``filter`` for a raw metric name."""

    def __init__(self, metrics: MetricsOperations, policy: RetryPolicy | None = None) -> None:
        self.metrics = metrics
        self.policy = policy or RetryPolicy()

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        if "resource" not in params:
            return MetricValue(
                None, f"azure monitor {query!r}: params.resource (the ARM resource id) is required"
            )
        return with_retries(
            f"azure monitor {query}", self.policy, lambda: self._once(query, params, start, end)
        )

    def _list(
        self, params: Mapping[str, str], name: str, aggregation: str, flt: str | None, span: str
    ) -> Any:
        try:
            return self.metrics.list(
                params["resource"], timespan=span, interval="PT1M", metricnames=name,
                aggregation=aggregation, filter=flt, timeout=self.policy.timeout_seconds,
            )  # fmt: skip
        except Exception as exc:
            if _transient(exc):
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            raise

    def _once(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        span = f"{_iso(start)}/{_iso(end)}"
        dep = params.get("deployment")
        only = f"deployment eq '{dep}'" if dep else None
        try:
            if query in _LATENCY:
                return _mean(self._list(params, _LATENCY[query], "Average", only, span), "average", query)
            if query == "requestRate":
                total = _sum(self._list(params, "RequestsPerMinute", "Total", only, span))
                minutes = max((end - start).total_seconds() / 60.0, 1e-9)
                return MetricValue(total / minutes) if total is not None else _no_data(query)
            by_class = f"{only} and statusCodeClass eq '*'" if only else "statusCodeClass eq '*'"
            if query == "errorRate":
                return _error_rate(self._list(params, "RequestsPerMinute", "Total", by_class, span), params)
            if query in ("errorCount", "requestCount"):
                # The comparison's counts (analysis/comparison): each revision's errors and requests.
                resp = self._list(params, "RequestsPerMinute", "Total", by_class, span)
                bad, total = _class_counts(resp, params)
                return MetricValue(bad if query == "errorCount" else total)
            if query == "cpu":
                resp = self._list(params, "CpuUtilizationPercentage", "Average", None, span)
                return _mean(resp, "average", query)
            agg = params.get("aggregation", "Average")
            return _mean(self._list(params, query, agg, params.get("filter"), span), agg.lower(), query)
        except HttpResponseError as exc:
            return MetricValue(None, f"azure monitor rejected {query!r}: {exc.message}")


def _points(resp: Any, field: str) -> list[float]:
    return [
        float(getattr(d, field))
        for metric in resp.value
        for ts in metric.timeseries or []
        for d in ts.data or []
        if getattr(d, field) is not None
    ]


def _no_data(query: str) -> MetricValue:
    return MetricValue(None, f"no data for {query!r} in the window")


def _mean(resp: Any, field: str, query: str) -> MetricValue:
    pts = _points(resp, field)
    return MetricValue(sum(pts) / len(pts)) if pts else _no_data(query)


def _sum(resp: Any) -> float | None:
    pts = _points(resp, "total")
    return sum(pts) if pts else None


def _class_counts(resp: Any, params: Mapping[str, str]) -> tuple[float, float]:
    """(errors, requests): requests whose statusCodeClass is an error class (default 5xx; ``errorClasses``
    widens), and all requests."""
    errors = {c.strip() for c in params.get("errorClasses", "5xx").split(",")}
    total = bad = 0.0
    for metric in resp.value:
        for ts in metric.timeseries or []:
            cls = {m.name.value: m.value for m in ts.metadatavalues or []}.get("statusCodeClass")
            n = sum(d.total for d in ts.data or [] if d.total is not None)
            total += n
            bad += n if cls in errors else 0.0
    return bad, total


def _error_rate(resp: Any, params: Mapping[str, str]) -> MetricValue:
    bad, total = _class_counts(resp, params)
    if total == 0:
        return MetricValue(None, "no data for 'errorRate': no requests in the window")
    return MetricValue(bad / total)


def one_row(query: str) -> str:
    """The author's KQL, answering one row: only the first cell is used, and a query that returns a table
    (up to Log Analytics' 64 MB) would otherwise be read whole into the operator. On its own line, so a
    trailing ``//`` comment cannot swallow it; ``take`` after ``sort``/``top`` keeps their first row."""
    return f"{query}\n| take 1"


class LogAnalyticsProvider:
    """KQL whose first table's first row's first column is the number (``| summarize value = ...``)."""

    def __init__(self, client: LogsClient, workspace_id: str, policy: RetryPolicy | None = None) -> None:
        self.client, self.workspace_id = client, workspace_id
        self.policy = policy or RetryPolicy()

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        return with_retries("log analytics", self.policy, lambda: self._once(query, start, end))

    def _once(self, query: str, start: datetime, end: datetime) -> MetricValue:
        return first_number(
            lambda: self.client.query_workspace(
                self.workspace_id,
                one_row(query),
                timespan=(start, end),
                server_timeout=int(self.policy.timeout_seconds),
            )
        )


def first_number(run: Callable[[], Any]) -> MetricValue:
    """The first cell of the first table ``run`` answers (a Log Analytics query), or why there is none.
    Raises TransientError for what is worth another attempt."""
    try:
        result = run()
    except Exception as exc:
        if _transient(exc):
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        if isinstance(exc, HttpResponseError):
            return MetricValue(None, f"log analytics rejected the query: {exc.message}")
        raise
    if getattr(result, "partial_error", None) is not None:
        err = result.partial_error
        return MetricValue(None, f"log analytics returned partial results: {err.code}: {err.message}")
    tables = list(result)
    if not tables or not tables[0].rows or tables[0].rows[0][0] is None:
        return MetricValue(None, "no data: the query returned no rows")
    try:
        return MetricValue(float(tables[0].rows[0][0]))
    except (TypeError, ValueError):
        col = tables[0].columns[0] if tables[0].columns else "?"
        return MetricValue(None, f"the query's first column {col!r} is not a number; summarize to one value")
