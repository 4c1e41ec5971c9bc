"""Cost recommendations the data supports, for `kubectl mdep cost NAME`: from a week of Azure Monitor history
per revision (its online deployment), beside what each revision cost this month.

- **Idle**: a revision whose deployment answered no request in ``WINDOW`` still pays for its instances. The
  request history must cover at least ``MIN_IDLE_HOURS`` of it: a revision created an hour ago has served
  nothing yet, and is not idle.
- **Over-provisioned**: a revision held at more than one instance (``instanceCount``, or the autoscaler's
  floor ``minReplicas``) whose hourly CPU stayed low: the 95th percentile of the hourly averages is below
  ``LOW_CPU``. The suggestion is the fewest instances that keep that p95 at the autoscaling target
  (``CPU_TARGET``, the platform's 70 %), never below one.

Nothing is recommended without enough data: a revision with fewer than ``MIN_CPU_HOURS`` hourly CPU readings
(a day's cycle) gets no sizing advice. The Azure Monitor SDK is imported on use, like the Cost Management one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from modeldeploy.api.azure_names import deployment_name, deployment_resource_id, endpoint_resource_id
from modeldeploy.cli.cost import CostReport

Body = dict[str, Any]
WINDOW = timedelta(days=7)
CPU_TARGET = 70.0  # the autoscaling target the platform sets (README: autoscaling at 70 % CPU)
LOW_CPU = 30.0
MIN_CPU_HOURS = 24  # a whole daily cycle, peak hours included
MIN_IDLE_HOURS = int((WINDOW - timedelta(days=1)) / timedelta(hours=1))  # the window, give or take a day


@dataclass(frozen=True)
class Recommendation:
    revision: str
    kind: str  # idle | over-provisioned
    message: str
    month_to_date: float | None


def _where(body: Body) -> dict[str, Any]:
    azureml = ((body.get("spec") or {}).get("target") or {}).get("azureml") or {}
    return {**((body.get("status") or {}).get("platformDefaults") or {}), **azureml}


def _held_instances(body: Body) -> tuple[int, str]:
    spec = body.get("spec") or {}
    scaling = spec.get("autoscaling")
    if scaling:
        return int(scaling.get("minReplicas", 1)), "autoscaling.minReplicas"
    return int(_where(body).get("instanceCount", 1)), "target.azureml.instanceCount"


def _revisions(body: Body) -> list[str]:
    status = body.get("status") or {}
    return [r["name"] for r in (status.get("stable"), status.get("candidate")) if r and r.get("name")]


def _values(resp: Any, field: str) -> list[float]:
    return [
        float(getattr(point, field))
        for metric in resp.value or []
        for series in metric.timeseries or []
        for point in series.data or []
        if getattr(point, field, None) is not None
    ]


def recommend(metrics: Any, body: Body, report: CostReport, now: datetime) -> list[Recommendation]:
    """``metrics``: azure-mgmt-monitor's ``MetricsOperations`` (``MonitorManagementClient(...).metrics``)."""
    w = _where(body)
    sub, rg, ws, endpoint = (
        w.get(k) for k in ("subscriptionId", "resourceGroup", "workspace", "endpointName")
    )
    if not (sub and rg and ws and endpoint):
        return []
    span = f"{(now - WINDOW).isoformat()}/{now.isoformat()}"
    held, field = _held_instances(body)
    out: list[Recommendation] = []
    for revision in _revisions(body):
        dep = deployment_name(revision)
        cost = report.by_revision.get(revision)
        requests = _values(
            metrics.list(
                endpoint_resource_id(sub, rg, ws, endpoint), timespan=span, interval="PT1H",
                metricnames="RequestsPerMinute", aggregation="Total", filter=f"deployment eq '{dep}'",
            ),
            "total",
        )  # fmt: skip
        if len(requests) >= MIN_IDLE_HOURS and sum(requests) == 0:
            out.append(Recommendation(revision, "idle", _idle(revision, cost, report.currency), cost))
            continue
        cpu = _values(
            metrics.list(
                deployment_resource_id(sub, rg, ws, endpoint, dep), timespan=span, interval="PT1H",
                metricnames="CpuUtilizationPercentage", aggregation="Average",
            ),
            "average",
        )  # fmt: skip
        if held > 1 and len(cpu) >= MIN_CPU_HOURS:
            p95 = float(np.percentile(cpu, 95))
            if p95 < LOW_CPU:
                fewer = max(1, math.ceil(held * p95 / CPU_TARGET))
                msg = (
                    f"{revision}: CPU p95 {p95:.0f} % over {len(cpu)} hours at {held} instances; {field} "
                    f"{fewer} would keep it under {CPU_TARGET:.0f} %"
                )
                out.append(Recommendation(revision, "over-provisioned", msg, cost))
    return out


def _idle(revision: str, cost: float | None, currency: str) -> str:
    spent = f" (it cost {cost:.2f} {currency} this month)".replace("  ", " ") if cost is not None else ""
    return f"{revision}: no requests in {WINDOW.days} days{spent}; delete it, or let traffic move off it"


def render(recommendations: list[Recommendation]) -> str:
    if not recommendations:
        return (
            f"no recommendations: no revision sat idle for {WINDOW.days} days or below {LOW_CPU:.0f} % CPU "
            f"over {MIN_CPU_HOURS} hours or more of readings"
        )
    return "\n".join(["RECOMMENDATIONS", *(f"  {r.kind:<17} {r.message}" for r in recommendations)])


MetricsFactory = Callable[[str], Any]


def advise(
    body: Body, report: CostReport, now: datetime, metrics_factory: MetricsFactory | None = None
) -> tuple[list[Recommendation], str]:
    """The recommendations and their text, for `cost` and the report alike. Cost is what was asked for, so
    advice that cannot be read is left out with one line saying why, never an error."""
    try:
        metrics = (metrics_factory or default_metrics)(report.scope.split("/")[2])
        recs = recommend(metrics, body, report, now)
    except Exception as exc:  # auth, throttling, a missing SDK: the SDK's own words, once
        return [], f"no recommendations: Azure Monitor could not be read ({type(exc).__name__}: {exc})"
    return recs, render(recs)


def default_metrics(subscription_id: str) -> Any:
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.monitor import MonitorManagementClient

    return MonitorManagementClient(DefaultAzureCredential(), subscription_id).metrics
