"""Metric providers are shared by the objects that read the same place, and bounded in number."""

from __future__ import annotations

from typing import Any

from modeldeploy.analysis import service
from modeldeploy.analysis.service import AnalysisService
from modeldeploy.analysis.workspace_logs import WorkspaceLogsProvider
from modeldeploy.api import ModelDeploymentSpec
from modeldeploy.ports import Owner
from tests.api.mdep_cases import serverless_canary
from tests.backends.kubernetes.specs import kubernetes_spec


def spec(address: str) -> Any:
    return kubernetes_spec(
        analysis={
            "interval": "30s",
            "prometheusAddress": address,
            "metrics": [{"name": "errors", "provider": "prometheus", "builtin": "errorRate", "max": 0.05}],
        }
    )


def test_a_thousand_objects_on_one_prometheus_share_one_provider_set_and_distinct_ones_are_capped() -> None:
    made: list[str] = []

    def providers_for(s: Any) -> dict[str, Any]:
        made.append(s.analysis.prometheus_address)
        return {"prometheus": object()}

    svc = AnalysisService(providers_for=providers_for)
    shared = spec("http://prometheus.monitoring:9090")
    sets = {id(svc._cached_providers(Owner("ml", f"m{i}", f"uid-{i}"), shared)) for i in range(1000)}
    assert len(sets) == 1
    assert made == ["http://prometheus.monitoring:9090"]
    for i in range(service.MAX_PROVIDER_SETS + 10):
        svc._cached_providers(Owner("ml", "x", "uid-x"), spec(f"http://prometheus-{i}.monitoring:9090"))
    assert len(svc._providers) == service.MAX_PROVIDER_SETS
    svc.forget("uid-0")  # an object going away does not take the shared clients with it
    assert len(svc._providers) == service.MAX_PROVIDER_SETS


def test_a_serverless_object_gets_log_analytics_even_after_a_kubernetes_one_on_the_same_prometheus() -> None:
    body = serverless_canary()
    body["analysis"]["prometheusAddress"] = "http://prometheus.monitoring:9090"
    llm = ModelDeploymentSpec.model_validate(body)
    svc = AnalysisService()  # the operator's own providers: no call is made until a metric is read
    k8s = svc._cached_providers(Owner("ml", "a", "uid-a"), spec("http://prometheus.monitoring:9090"))
    assert "logAnalytics" not in k8s
    got = svc._cached_providers(Owner("team-llm", "coding", "uid-b"), llm)
    assert isinstance(got["logAnalytics"], WorkspaceLogsProvider)
    assert "azureMonitor" not in got  # online-endpoint metrics: a serverless endpoint has none
