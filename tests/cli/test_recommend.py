"""Cost recommendations from a week of Azure Monitor history, through the real azure-mgmt-monitor client
over a fake transport: what is asked for, and what each history leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.monitor import MonitorManagementClient

from modeldeploy.cli.cost import CostReport
from modeldeploy.cli.recommend import MIN_CPU_HOURS, recommend, render
from tests.cli.test_cost import SUB, _Adapter, _Token

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WS = (
    f"/subscriptions/{SUB}/resourceGroups/kdap-prod-rg"
    "/providers/Microsoft.MachineLearningServices/workspaces/mlw"
)


def series(name: str, field: str, values: list[float | None]) -> dict[str, Any]:
    start = NOW - timedelta(days=7)
    points = [
        {"timeStamp": (start + timedelta(hours=i)).isoformat().replace("+00:00", "Z"), field: v}
        for i, v in enumerate(values)
    ]
    return {
        "timespan": f"{start.isoformat()}/{NOW.isoformat()}",
        "interval": "PT1H",
        "value": [
            {
                "id": f"{WS}/providers/Microsoft.Insights/metrics/{name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "unit": "Count",
                "timeseries": [{"metadatavalues": [], "data": points}],
            }
        ],
    }


def metrics_client(adapter: _Adapter) -> Any:
    session = requests.Session()
    session.mount("https://", adapter)
    transport = RequestsTransport(session=session, session_owner=False)
    return MonitorManagementClient(_Token(), SUB, transport=transport).metrics  # type: ignore[arg-type]


def body(**spec: Any) -> dict[str, Any]:
    azureml = {"instanceType": "Standard_DS3_v2", "instanceCount": 4}
    return {
        "metadata": {"namespace": "ml-serving", "name": "fraud"},
        "spec": {"target": {"type": "azureml", "azureml": azureml}, **spec},
        "status": {
            # Where the platform put it (the spec leaves these out): recommendations read the same pins.
            "platformDefaults": {
                "subscriptionId": SUB,
                "resourceGroup": "kdap-prod-rg",
                "workspace": "mlw",
                "endpointName": "fraud-prod",
            },
            "stable": {"name": "fraud-3f2a"},
            "candidate": {"name": "fraud-91c0"},
        },
    }


REPORT = CostReport("scope", "ml-serving/fraud", "EUR", {"fraud-3f2a": 120.5, "fraud-91c0": 30.25})
HOURS = 168


def test_an_idle_revision_and_an_over_provisioned_one_from_a_week_of_history() -> None:
    adapter = _Adapter(
        (200, series("RequestsPerMinute", "total", [120.0] * HOURS)),  # stable serves
        (200, series("CpuUtilizationPercentage", "average", [8.0] * 150 + [22.0] * 18)),  # ... at 4 instances
        (200, series("RequestsPerMinute", "total", [0.0] * HOURS)),  # the candidate gets nothing
    )
    recs = recommend(metrics_client(adapter), body(), REPORT, NOW)
    assert [(r.revision, r.kind) for r in recs] == [
        ("fraud-3f2a", "over-provisioned"),
        ("fraud-91c0", "idle"),
    ]
    assert recs[0].message == (
        "fraud-3f2a: CPU p95 22 % over 168 hours at 4 instances; target.azureml.instanceCount 2 would "
        "keep it under 70 %"
    )
    assert recs[1].message == (
        "fraud-91c0: no requests in 7 days (it cost 30.25 EUR this month); delete it, or let traffic "
        "move off it"
    )
    requests_q, cpu_q, _ = adapter.requests
    assert requests_q.url is not None
    assert cpu_q.url is not None
    assert unquote(urlparse(requests_q.url).path).startswith(f"{WS}/onlineEndpoints/fraud-prod/providers/")
    assert unquote(urlparse(cpu_q.url).path).startswith(
        f"{WS}/onlineEndpoints/fraud-prod/deployments/fraud-3f2a/providers/Microsoft.Insights/metrics"
    )
    asked = parse_qs(urlparse(requests_q.url).query)
    assert asked["metricnames"] == ["RequestsPerMinute"]
    assert asked["$filter"] == ["deployment eq 'fraud-3f2a'"]
    assert asked["interval"] == ["PT1H"]
    assert "RECOMMENDATIONS" in render(recs)


def test_busy_cpu_or_one_instance_or_no_data_recommend_nothing() -> None:
    busy = _Adapter(
        (200, series("RequestsPerMinute", "total", [50.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [10.0] * 100 + [65.0] * 68)),
        (200, series("RequestsPerMinute", "total", [5.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [])),  # no CPU series: no sizing advice
    )
    assert recommend(metrics_client(busy), body(), REPORT, NOW) == []
    # Autoscaled at a floor of one: there is nothing to take away, whatever the CPU.
    floor = _Adapter(
        (200, series("RequestsPerMinute", "total", [50.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [3.0] * HOURS)),
        (200, series("RequestsPerMinute", "total", [5.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [3.0] * HOURS)),
    )
    scaled = body(autoscaling={"minReplicas": 1, "maxReplicas": 6})
    assert recommend(metrics_client(floor), scaled, REPORT, NOW) == []
    assert render([]) == (
        "no recommendations: no revision sat idle for 7 days or below 30 % CPU "
        "over 24 hours or more of readings"
    )


# Review (#19): histories too thin to support advice.
def test_a_few_hours_of_cpu_are_not_enough_to_size_a_deployment() -> None:
    # Three low readings in a week (the rest missing): a p95 over three points says nothing about peaks.
    sparse = [None] * (HOURS - MIN_CPU_HOURS + 1) + [5.0] * (MIN_CPU_HOURS - 1)
    adapter = _Adapter(
        (200, series("RequestsPerMinute", "total", [120.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", sparse)),
        (200, series("RequestsPerMinute", "total", [120.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [5.0] * MIN_CPU_HOURS)),
    )
    recs = recommend(metrics_client(adapter), body(), REPORT, NOW)
    # The candidate has a full day of readings; the stable revision's 23 hours are one short.
    assert [(r.revision, r.kind) for r in recs] == [("fraud-91c0", "over-provisioned")]
    assert recs[0].message.startswith(f"fraud-91c0: CPU p95 5 % over {MIN_CPU_HOURS} hours at 4 instances")


def test_a_revision_younger_than_the_window_is_not_called_idle() -> None:
    # Created three hours ago and not yet given traffic: "no requests in 7 days" would be false, and the
    # advice to delete it would end a rollout that has not started.
    young = [None] * (HOURS - 3) + [0.0] * 3
    adapter = _Adapter(
        (200, series("RequestsPerMinute", "total", [120.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [65.0] * HOURS)),
        (200, series("RequestsPerMinute", "total", young)),
        (200, series("CpuUtilizationPercentage", "average", [1.0] * 3)),
    )
    assert recommend(metrics_client(adapter), body(), REPORT, NOW) == []
    # A week of zeros with a few hours unreported is still idle.
    gaps = [0.0] * (HOURS - 12) + [None] * 12
    adapter = _Adapter(
        (200, series("RequestsPerMinute", "total", [120.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [65.0] * HOURS)),
        (200, series("RequestsPerMinute", "total", gaps)),
    )
    recs = recommend(metrics_client(adapter), body(), REPORT, NOW)
    assert [(r.revision, r.kind) for r in recs] == [("fraud-91c0", "idle")]


def test_one_instance_or_no_azure_names_recommend_nothing() -> None:
    single = body()
    single["spec"]["target"]["azureml"]["instanceCount"] = 1
    adapter = _Adapter(
        (200, series("RequestsPerMinute", "total", [50.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [2.0] * HOURS)),
        (200, series("RequestsPerMinute", "total", [50.0] * HOURS)),
        (200, series("CpuUtilizationPercentage", "average", [2.0] * HOURS)),
    )
    assert recommend(metrics_client(adapter), single, REPORT, NOW) == []
    unpinned = body()
    del unpinned["status"]["platformDefaults"]["endpointName"]
    nothing = _Adapter()
    assert recommend(metrics_client(nothing), unpinned, REPORT, NOW) == []
    assert nothing.requests == []  # not even asked
