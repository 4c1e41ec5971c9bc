"""Specs and policies for the policy tests: one azureml spec that references every kind of thing a policy
can grant, and a policy granting exactly that."""

from __future__ import annotations

import copy
from typing import Any

from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.policy import Policy, Refusal, check

SUB = "00000000-0000-0000-0000-000000000001"
TEAM = {"kubernetes.io/metadata.name": "team-a", "kdap.io/team": "a"}

FULL: dict[str, Any] = {
    "target": {
        "type": "azureml",
        "azureml": {
            "subscriptionId": SUB,
            "resourceGroup": "rg-ml",
            "workspace": "mlw-team",
            "endpointName": "budget",
            "instanceType": "Standard_DS3_v2",
            "logAnalyticsWorkspaceId": f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/"
            "Microsoft.OperationalInsights/workspaces/log-team",
        },
    },
    "model": {
        "name": "budget",
        "version": "1.0.0",
        "registry": "azureml://registries/shared/models/budget/versions/3",
        "code": {"uri": "azureml:budget-score:1"},
        "environment": {"azureml": "azureml://registries/shared/environments/lgbm/versions/2"},
    },
    "strategy": {"type": "canary", "canary": {"steps": [{"weight": 10, "analysis": True}, {"weight": 100}]}},
    "analysis": {
        "prometheusAddress": "http://prometheus.monitoring:9090",
        "metrics": [{"name": "err", "provider": "prometheus", "query": "x", "max": 1}],
        "drift": {
            "reference": {"uri": "abfss://training@acct1.dfs.core.windows.net/team-a/ref.parquet"},
            "live": {
                "uri": "azureml://datastores/collected/paths/modelDataCollector/{endpoint}/model_inputs/"
            },
            "numerical": [{"name": "x"}],
        },
    },
    "rollback": {
        "retrain": {
            "type": "azuremlPipeline",
            "azuremlPipeline": {
                "component": "azureml:retrain-budget:3",
                "experimentName": "retrain",
                "compute": "cpu-cluster",
            },
        }
    },
}

GRANT: dict[str, Any] = {
    "namespaceSelector": {"matchLabels": {"kdap.io/team": "a"}},
    "storage": [{"account": "acct1", "containers": ["training"], "pathPrefixes": ["team-a/"]}],
    "workspaces": [
        {
            "subscriptionId": SUB,
            "resourceGroup": "rg-ml",
            "name": "mlw-team",
            "datastores": [{"name": "collected", "pathPrefixes": ["modelDataCollector"]}],
        }
    ],
    "registries": ["shared"],
    "metrics": {
        "prometheus": ["http://prometheus.monitoring:9090"],
        "azureMonitorScopes": [f"/subscriptions/{SUB}/resourceGroups/rg-ml"],
    },
    "retraining": {
        "pipelines": [
            {
                "workspace": {"subscriptionId": SUB, "resourceGroup": "rg-ml", "name": "mlw-team"},
                "components": ["retrain-budget"],
                "computes": ["cpu-cluster"],
            }
        ]
    },
}


def spec(base: dict[str, Any] | None = None, **changes: Any) -> ModelDeploymentSpec:
    """``FULL`` (or ``base``) with dotted-path changes: ``spec(**{"analysis.prometheusAddress": "..."})``."""
    body = copy.deepcopy(base if base is not None else FULL)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return ModelDeploymentSpec.model_validate(body)


def policy(name: str = "team-a", **changes: Any) -> Policy:
    body = copy.deepcopy(GRANT)
    body.update(changes)
    return Policy(name, ModelDeploymentPolicySpec.model_validate(body))


def refused(s: ModelDeploymentSpec, *policies: Policy, labels: dict[str, str] | None = None) -> list[Refusal]:
    return check(s, "team-a", "budget", labels if labels is not None else TEAM, policies)


def messages(s: ModelDeploymentSpec, *policies: Policy) -> list[str]:
    return [str(r) for r in refused(s, *policies)]
