"""Analysis of an adapter version: the queries name the revision and the adapter, and a version whose
gateway series breaches the maximum fails the step."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from modeldeploy.analysis.service import AnalysisService
from modeldeploy.analysis.types import MetricValue
from modeldeploy.api import ModelDeploymentSpec
from modeldeploy.api.status import Verdict
from modeldeploy.ports import Owner
from modeldeploy.rollout.actions import RunAnalysis
from tests.api.mdep_cases import serverless_canary

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, value: float) -> None:
        self.value, self.queries = value, list[str]()
        self.params: list[dict[str, str]] = []

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        self.queries.append(query)
        self.params.append(dict(params))
        return MetricValue(self.value)


def _run(value: float) -> tuple[Recorder, Verdict]:
    body = serverless_canary()
    body["analysis"]["metrics"][0]["query"] = 'llm_errors{adapter="$adapter",revision="$revision"}'
    spec = ModelDeploymentSpec.model_validate(body)
    prometheus = Recorder(value)
    service = AnalysisService(providers_for=lambda s: {"prometheus": prometheus})
    request = RunAnalysis("coding-3ccf03901b", "coding-9cbac5d4af", 0, NOW - timedelta(minutes=5))
    result = service.run(Owner("team-llm", "coding", "uid-1"), spec, request, NOW)
    return prometheus, result.verdict


def test_queries_select_the_adapter_and_the_revision_under_analysis() -> None:
    prometheus, verdict = _run(0.001)
    assert prometheus.queries == ['llm_errors{adapter="coding",revision="coding-3ccf03901b"}']
    assert verdict is Verdict.SUCCESSFUL


def test_a_breaching_adapter_version_fails() -> None:
    _, verdict = _run(0.3)
    assert verdict is Verdict.FAILED


LAW = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-kdap/providers/"
    "Microsoft.OperationalInsights/workspaces/log-kdap"
)


def test_log_analytics_metrics_query_the_targets_workspace_for_the_adapters_revision() -> None:
    body = serverless_canary()
    body["target"]["serverless"]["logAnalyticsWorkspaceId"] = LAW
    body["analysis"]["metrics"] = [
        {
            "name": "completion-tokens",
            "provider": "logAnalytics",
            "query": "completionTokensPerRequest",
            "max": 800,
        }
    ]
    logs = Recorder(950.0)
    service = AnalysisService(providers_for=lambda s: {"logAnalytics": logs})
    request = RunAnalysis("coding-3ccf03901b", "coding-9cbac5d4af", 0, NOW - timedelta(minutes=5))
    result = service.run(
        Owner("team-llm", "coding", "uid-1"), ModelDeploymentSpec.model_validate(body), request, NOW
    )
    assert logs.queries == ["completionTokensPerRequest"]
    (params,) = logs.params
    assert (params["logAnalyticsWorkspace"], params["adapter"], params["revision"]) == (
        LAW,
        "coding",
        "coding-3ccf03901b",
    )
    assert result.verdict is Verdict.FAILED  # 950 tokens per answer: above the 800 allowed
