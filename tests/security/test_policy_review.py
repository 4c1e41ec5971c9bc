"""An outside review of the policy API (#13): references the check did not see before, each refused before
any I/O with the field and the rule named."""

from __future__ import annotations

import pytest

from tests.security.policy_cases import GRANT, SUB, messages, policy, refused, spec

_EVALUATION = {"label": "y", "gates": [{"metric": "rmse", "max": 1}]}


def test_an_evaluation_data_uri_is_data_and_needs_its_storage_granted() -> None:
    """Before, validation.evaluation.dataUri was left out of the check: the candidate was deployed (I/O in
    the target) and only the read was refused at run time, with no SpecValid=False."""
    other = {"evaluation": {"dataUri": "https://acct1.blob.core.windows.net/other/rows.csv", **_EVALUATION}}
    assert messages(spec(validation=other), policy()) == [
        'spec.validation.evaluation.dataUri: container "other" of storage account "acct1" is not granted to '
        'namespace "team-a" by any ModelDeploymentPolicy (granted: training)'
    ]
    rows = "abfss://training@acct1.dfs.core.windows.net/team-a/rows.csv"
    mine = {"evaluation": {"dataUri": rows, **_EVALUATION}}
    assert refused(spec(validation=mine), policy()) == []


def _on_attached_compute(compute: str) -> object:
    kubernetes = {"endpointKind": "kubernetes", "compute": compute, "logAnalyticsWorkspaceId": None}
    return spec(**{f"target.azureml.{k}": v for k, v in kubernetes.items()})


def test_an_attached_kubernetes_compute_needs_a_grant_like_a_batch_cluster() -> None:
    """Before, target.azureml.compute was not checked: a team granted a shared workspace could put its
    endpoint on any Kubernetes cluster attached to it (another team's capacity and nodes), though the
    workspace grant's computes already listed which clusters its batch models may use."""
    assert messages(_on_attached_compute("aks-team-b"), policy()) == [
        f'spec.target.azureml.compute: compute "aks-team-b" of Azure ML workspace "{SUB}/rg-ml/mlw-team" is '
        'not granted to namespace "team-a" by any ModelDeploymentPolicy (granted: none)'
    ]
    ws = dict(GRANT["workspaces"][0], computes=["aks-team-a"])
    assert refused(_on_attached_compute("AKS-team-a"), policy(workspaces=[ws])) == []  # ARM names: any case
    assert [r.field for r in refused(_on_attached_compute("aks-team-b"), policy(workspaces=[ws]))] == [
        "spec.target.azureml.compute"
    ]
    assert refused(_on_attached_compute("aks-x9"), policy(workspaces=[dict(ws, computes=["*"])])) == []


def _kql(query: str) -> object:
    metric = {"name": "q", "provider": "logAnalytics", "query": query, "max": 1}
    return spec(**{"analysis.metrics": [metric]})


@pytest.mark.parametrize(
    ("query", "function"),
    [
        ('workspace("other-team-logs").AppRequests | summarize value = count()', "workspace"),
        (f"workspace('/subscriptions/{SUB}/resourceGroups/rg-b/providers/x/workspaces/b').T", "workspace"),
        ('union AppRequests, app("b-insights").requests | count', "app"),
        ('resource("/subscriptions/x/resourceGroups/rg-b").AzureMetrics | count', "resource"),
        ("workspace  // a comment\n  ('b').T | count", "workspace"),
        ("['workspace']('b').T | count", "workspace"),
        ('adx("https://help.kusto.windows.net/Samples").StormEvents | count', "adx"),
        ('arg("").Resources | count', "arg"),
        ('cluster("c").database("d").T | count', "cluster"),
        ('externaldata (v:real) ["https://evil.example/x.csv"] | take 1', "externaldata"),
        ('evaluate http_request("https://evil.example/") | take 1', "http_request"),
    ],
)
def test_kql_may_not_reach_past_the_granted_log_analytics_workspace(query: str, function: str) -> None:
    """Before, a logAnalytics metric's KQL ran as the operator against the granted workspace, and KQL's
    cross-resource functions read any other workspace, Application Insights or Azure Data Explorer resource
    (or Resource Graph) the operator's identity can read: another team's logs came back as metric values."""
    (refusal,) = [r for r in refused(_kql(query), policy()) if r.field.startswith("spec.analysis.metrics")]
    assert str(refusal) == (
        f"spec.analysis.metrics[0].query: KQL {function}() reaches past the Log Analytics workspace a "
        "ModelDeploymentPolicy grants (logAnalyticsWorkspaceId); cross-resource and external-data queries "
        "(workspace, app, resource, adx, arg, cluster, database, externaldata, external_table, *_request "
        "plugins) are not allowed"
    )


@pytest.mark.parametrize(
    "query",
    [
        "AppRequests | where Success == false | summarize value = count()",
        "AzureDiagnostics | where Resource == 'X' | summarize value = avg(DurationMs)",  # a column, no call
        "AppMetrics | extend workspace_name = 'a' | summarize value = count()",
        "tokensPerRequest",
    ],
)
def test_queries_in_the_granted_workspace_pass(query: str) -> None:
    assert refused(_kql(query), policy()) == []


def _retrain(**inputs: str) -> object:
    pipeline = {"component": "azureml:retrain-budget:3", "experimentName": "retrain", "inputs": inputs}
    return spec(**{"rollback.retrain.azuremlPipeline": pipeline})


def test_retraining_pipeline_inputs_are_references_that_need_grants() -> None:
    """Before, azuremlPipeline.inputs went to the component unchecked: azure-ai-ml turns a string given to a
    uri_folder/uri_file input into Input(path=...), so another team's folder was read by the job, and a
    local path (the operator's ServiceAccount token) was uploaded from the operator's filesystem to the
    workspace's datastore, where the team could read it."""
    s = _retrain(
        data="abfss://training@acct1.dfs.core.windows.net/team-b/x",
        token="/var/run/secrets/kubernetes.io/serviceaccount/token",
        here="./data",
        local="file:///data/team-a/x.csv",
        other="azureml://datastores/collected/paths/team-b/",
        rate="0.5",
        mode="fast",
    )
    prefix = "spec.rollback.retrain.azuremlPipeline.inputs"
    local = "is a local path: Azure ML would upload it from the operator's filesystem; use a data URI a "
    local += "ModelDeploymentPolicy grants"
    assert messages(s, policy(localPaths=["/data/team-a"])) == [
        f'{prefix}.data: path "team-b/x" in acct1/training is not granted to namespace "team-a" by any '
        "ModelDeploymentPolicy (granted: team-a/)",
        f'{prefix}.token: "/var/run/secrets/kubernetes.io/serviceaccount/token" {local}',
        f'{prefix}.here: "./data" {local}',
        f'{prefix}.local: "file:///data/team-a/x.csv" {local}',
        f'{prefix}.other: path "team-b" in datastore "collected" of workspace "{SUB}/rg-ml/mlw-team" is not '
        'granted to namespace "team-a" by any ModelDeploymentPolicy (granted: modelDataCollector/)',
    ]
    granted = _retrain(
        data="abfss://training@acct1.dfs.core.windows.net/team-a/x",
        asset="azureml:budget-training:12",
        shared="azureml://registries/shared/data/budget/versions/1",
        rate="0.5",
    )
    assert refused(granted, policy()) == []


def test_a_log_analytics_id_with_a_letter_that_folds_to_ascii_is_refused() -> None:
    """The API's pattern is (?i), so the Kelvin sign passes for a k; the check lower-cased it to "k" and
    granted rg-k, while ARM (ordinal, ignoring case) names another resource group."""
    rg = f"/subscriptions/{SUB}/resourceGroups/rg-\u212a"
    law = f"{rg}/providers/Microsoft.OperationalInsights/workspaces/law-1"
    scopes = {
        "prometheus": GRANT["metrics"]["prometheus"],
        "azureMonitorScopes": [f"/subscriptions/{SUB}/resourceGroups/rg-k"],
    }
    (refusal,) = refused(spec(**{"target.azureml.logAnalyticsWorkspaceId": law}), policy(metrics=scopes))
    assert str(refusal) == (
        f"spec.target.azureml.logAnalyticsWorkspaceId: {law}: an ARM id must be ASCII (a letter such as the "
        "Kelvin sign folds to an ASCII one here, but not in Azure)"
    )
    ascii_law = law.replace("\u212a", "K")
    assert (
        refused(spec(**{"target.azureml.logAnalyticsWorkspaceId": ascii_law}), policy(metrics=scopes)) == []
    )


_OTHER_WS = (
    "/subscriptions/00000000-0000-0000-0000-00000000000b/resourceGroups/rg-b/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws-b"
)


def test_an_arm_id_after_azureml_is_no_asset_of_the_target_workspace() -> None:
    """Before, anything after "azureml:" but "//" passed as an asset of the target's workspace, but an ARM
    id names an asset of any workspace (azure-ai-ml takes /subscriptions/... code ids as they are)."""
    why = (
        ": an ARM id can name an asset of any workspace; use azureml:<name>:<version> (the target's "
        "workspace) or azureml://registries/<registry>/..."
    )
    code = f"azureml:{_OTHER_WS}/codes/score/versions/1"
    s = spec(**{"model.code": {"uri": code}})
    assert messages(s, policy()) == [f"spec.model.code.uri: {code}{why}"]
    data = f"azureml:{_OTHER_WS}/data/secret/versions/1"
    assert messages(_retrain(rows=data), policy()) == [
        f"spec.rollback.retrain.azuremlPipeline.inputs.rows: {data}{why}"
    ]
    assert refused(spec(**{"model.code": {"uri": "azureml:budget-score:1"}}), policy()) == []
