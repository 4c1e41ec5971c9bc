"""A serverless target acts in a workspace, a registry and an API Management instance: each must be granted
to the namespace, and a refusal names the field, what was asked and what is granted."""

from __future__ import annotations

from typing import Any

from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.policy import Policy, check
from tests.api.mdep_cases import serverless_canary

SUB = "00000000-0000-0000-0000-000000000000"
LABELS = {"kubernetes.io/metadata.name": "team-llm"}
GRANT: dict[str, Any] = {
    "namespaceSelector": {"matchLabels": LABELS},
    "workspaces": [{"subscriptionId": SUB, "resourceGroup": "rg-kdap", "name": "mlw-kdap"}],
    "registries": ["kdap-models"],
    "gateways": [{"subscriptionId": SUB, "resourceGroup": "rg-kdap", "service": "kdap-apim"}],
}


LAW = (
    f"/subscriptions/{SUB}/resourceGroups/rg-kdap/providers/Microsoft.OperationalInsights/workspaces/log-kdap"
)


def _refusals(body: dict[str, Any] | None = None, **grant: Any) -> dict[str, str]:
    policy = Policy("llm", ModelDeploymentPolicySpec.model_validate({**GRANT, **grant}))
    spec = ModelDeploymentSpec.model_validate(body or serverless_canary())
    return {r.field: r.reason for r in check(spec, "team-llm", "coding", LABELS, [policy])}


def _reading_logs(metrics: bool = True) -> dict[str, Any]:
    body = serverless_canary()
    body["target"]["serverless"]["logAnalyticsWorkspaceId"] = LAW
    if metrics:
        body["analysis"]["metrics"].append(
            {"name": "tokens", "provider": "logAnalytics", "query": "tokensPerRequest", "max": 900}
        )
    return body


def test_everything_granted_is_allowed() -> None:
    assert _refusals() == {}


def test_an_ungranted_gateway_is_refused_naming_it_and_the_grants() -> None:
    other = [{"subscriptionId": SUB, "resourceGroup": "rg-kdap", "service": "other-apim"}]
    assert _refusals(gateways=other) == {
        "spec.target.serverless.gateway": f'API Management "{SUB}/rg-kdap/kdap-apim" is not granted to '
        f'namespace "team-llm" by any ModelDeploymentPolicy (granted: {SUB}/rg-kdap/other-apim)'
    }


def test_the_gateway_grant_is_case_insensitive_as_arm_names_are() -> None:
    upper = [{"subscriptionId": SUB, "resourceGroup": "RG-KDAP", "service": "KDAP-APIM"}]
    assert _refusals(gateways=upper) == {}


def test_workspace_and_registry_are_checked_as_for_azureml_targets() -> None:
    got = _refusals(workspaces=[], registries=["elsewhere"])
    assert set(got) == {"spec.target.serverless", "spec.model.registry"}
    assert got["spec.target.serverless"].startswith(
        f'Azure ML workspace "{SUB}/rg-kdap/mlw-kdap" is not granted'
    )
    assert got["spec.model.registry"].startswith('Azure ML registry "kdap-models" is not granted')


def test_a_log_analytics_workspace_the_operator_queries_must_be_granted() -> None:
    assert _refusals(_reading_logs()) == {
        "spec.target.serverless.logAnalyticsWorkspaceId": f'Azure Monitor scope "{LAW}" is not granted to '
        'namespace "team-llm" by any ModelDeploymentPolicy (granted: none)'
    }
    scope = f"/subscriptions/{SUB}/resourceGroups/rg-kdap"
    assert _refusals(_reading_logs(), metrics={"azureMonitorScopes": [scope]}) == {}
    # Named but never queried (no logAnalytics metric): the operator does not act on it.
    assert _refusals(_reading_logs(metrics=False)) == {}
