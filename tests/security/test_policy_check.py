"""The policy check as a pure function: default deny, every kind of grant, unions, selectors, and the
message naming the field and the rule."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from modeldeploy.api.policy import LabelSelector, ModelDeploymentPolicySpec
from tests.backends.kubernetes.specs import kubernetes_spec
from tests.security.policy_cases import FULL, GRANT, SUB, TEAM, messages, policy, refused, spec


def test_everything_granted_is_allowed() -> None:
    assert refused(spec(), policy()) == []


def test_default_deny_names_every_reference_in_field_order() -> None:
    fields = [r.field for r in refused(spec())]
    assert fields == [
        "spec.target.azureml",
        "spec.target.azureml.logAnalyticsWorkspaceId",
        "spec.model.registry",
        "spec.model.environment.azureml",
        "spec.analysis.prometheusAddress",
        "spec.analysis.drift.reference.uri",
        "spec.analysis.drift.live.uri",
        "spec.rollback.retrain.azuremlPipeline",
    ]


def test_the_message_names_field_account_namespace_and_what_is_granted() -> None:
    evil = spec(**{"analysis.drift.reference.uri": "abfss://training@evil.dfs.core.windows.net/x.parquet"})
    other = policy("other", storage=[{"account": "acct2", "containers": ["*"]}])
    assert messages(evil, policy(), other) == [
        'spec.analysis.drift.reference.uri: storage account "evil" is not granted to namespace "team-a" by '
        "any ModelDeploymentPolicy (granted: acct1, acct2)"
    ]


def test_a_kubernetes_spec_without_references_needs_no_grant() -> None:
    # The model's artifactUri on a Kubernetes target is never resolved by the operator (the image is).
    assert refused(kubernetes_spec()) == []


def test_policies_for_other_namespaces_grant_nothing() -> None:
    elsewhere = policy(namespaceSelector={"matchLabels": {"kdap.io/team": "b"}})
    assert len(refused(spec(), elsewhere)) == 8


def test_grants_add_up_across_policies() -> None:
    storage_only = policy(
        "storage", **{k: v for k, v in GRANT.items() if k in ("namespaceSelector", "storage")}
    )
    rest = policy("rest", storage=[])
    assert [r.field for r in refused(spec(), rest)] == ["spec.analysis.drift.reference.uri"]
    assert refused(spec(), rest, storage_only) == []


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("abfss://other@acct1.dfs.core.windows.net/team-a/x", 'container "other" of storage account "acct1"'),
        ("abfss://training@acct1.dfs.core.windows.net/team-ab/x", 'path "team-ab/x" in acct1/training'),
        ("abfss://training@acct1.dfs.core.windows.net/team-b/team-a/x", 'path "team-b/team-a/x"'),
        ("abfss://training@acct1.dfs.core.windows.net/", 'path "" in acct1/training'),
        ("wasbs://training@acct2.blob.core.windows.net/team-a/x", 'storage account "acct2"'),
        ("https://acct2.blob.core.windows.net/training/team-a/x", 'storage account "acct2"'),
        ("file:///data/team-a/x.csv", 'local path "/data/team-a/x.csv"'),
        (
            f"azureml://subscriptions/{SUB}/resourcegroups/rg-ml/workspaces/mlw-other/datastores/d/paths/x",
            f'Azure ML workspace "{SUB}/rg-ml/mlw-other" (datastore "d")',
        ),
        ("azureml://datastores/training/paths/x", 'datastore "training" of workspace'),
        ("azureml://datastores/collected/paths/other/x", 'path "other/x" in datastore "collected"'),
    ],
)
def test_storage_refusals(uri: str, reason: str) -> None:
    (refusal,) = refused(spec(**{"analysis.drift.reference.uri": uri}), policy())
    assert refusal.field == "spec.analysis.drift.reference.uri"
    assert refusal.reason.startswith(reason), refusal.reason
    assert 'is not granted to namespace "team-a" by any ModelDeploymentPolicy (granted: ' in refusal.reason


@pytest.mark.parametrize(
    "uri",
    [
        "https://acct1.blob.core.windows.net/training/team-a/x.parquet",
        "https://ACCT1.Blob.Core.Windows.Net/training/team-a/x.parquet",  # DNS is case-insensitive
        "wasbs://training@acct1.blob.core.windows.net/team-a/",
        "abfss://training@acct1.dfs.core.windows.net/team-a",
        "abfss://training@acct1.dfs.core.windows.net/team-a/{revision}/*.parquet",
        f"azureml://subscriptions/{SUB}/RESOURCEGROUPS/RG-ML/WORKSPACES/MLW-TEAM/DATASTORES/Collected/PATHS/"
        "modelDataCollector/x",
    ],
)
def test_storage_grants(uri: str) -> None:
    assert refused(spec(**{"analysis.drift.reference.uri": uri}), policy()) == []


def test_namespace_and_name_placeholders_are_filled_before_the_check() -> None:
    own = spec(
        **{"analysis.drift.reference.uri": "abfss://training@acct1.dfs.core.windows.net/{namespace}/x"}
    )
    assert refused(own, policy()) == []
    moved = spec(**{"analysis.drift.reference.uri": "abfss://training@acct1.dfs.core.windows.net/{name}/x"})
    assert 'path "budget/x" in acct1/training' in refused(moved, policy())[0].reason


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("https://acct1.blob.core.windows.net@evil.com/training/team-a/x", "the host must be <account>"),
        ("https://evil@acct1.blob.core.windows.net/training/team-a/x", "the host must be <account>"),
        ("https://acct1.blob.core.windows.net:8443/training/team-a/x", "the host must be <account>"),
        ("https://acct1.blob.core.windows.net.evil.com/training/team-a/x", "the host must be <account>"),
        ("https://\u212acct1.blob.core.windows.net/training/team-a/x", "the storage host must be ASCII"),
        ("https://acct1.blob.core.windows.net/training/team-a/../team-b/x", "empty, '.' and '..' path"),
        ("https://acct1.blob.core.windows.net/training/team-a/%2e%2e/team-b/x", "percent-encoding"),
        ("https://acct1.blob.core.windows.net/training/team-a\\..\\x", "percent-encoding and backslashes"),
        ("https://acct1.blob.core.windows.net/training/team-a//x", "empty, '.' and '..' path"),
        ("https://acct1.blob.core.windows.net/training/team-a/x?sv=1", "not a form a ModelDeploymentPolicy"),
        ("abfss://training@{deployment}.dfs.core.windows.net/team-a/x", "placeholders such as {revision}"),
        ("abfss://{revision}@acct1.dfs.core.windows.net/team-a/x", "placeholders such as {revision}"),
        ("file:///data/./x", "empty, '.' and '..' path"),
        ("azureml://datastores/../paths/x", "'..' is not a valid datastore name"),
    ],
)
def test_tricks_are_refused_with_the_reason(uri: str, reason: str) -> None:
    wide = policy(storage=[{"account": "acct1", "containers": ["*"]}], localPaths=["/"])
    (refusal,) = refused(spec(**{"analysis.drift.reference.uri": uri}), wide)
    assert reason in refusal.reason, refusal.reason


def test_short_datastore_uris_need_an_azureml_target() -> None:
    s = kubernetes_spec(
        analysis={
            "drift": {
                "reference": {"uri": "azureml://datastores/collected/paths/modelDataCollector/x"},
                "live": {"uri": "file:///data/team-a/live.csv", "format": "csv"},
                "numerical": [{"name": "x"}],
            }
        }
    )
    refusals = refused(s, policy(localPaths=["/data/team-a"]))
    assert [str(r) for r in refusals] == [
        "spec.analysis.drift.reference.uri: a short azureml://datastores/ URI resolves in the azureml "
        "target's workspace and this ModelDeployment has none; use the long form naming the workspace"
    ]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("http://prometheus.monitoring:9091", 'Prometheus endpoint "http://prometheus.monitoring:9091"'),
        ("https://prometheus.monitoring:9090", 'Prometheus endpoint "https://prometheus.monitoring:9090"'),
        ("http://prometheus.monitoring", 'Prometheus endpoint "http://prometheus.monitoring"'),
        ("http://prometheus.monitoring:9090@169.254.169.254", "no user, no brackets"),
        ("http://user@prometheus.monitoring:9090", "no user, no brackets"),
        ("http://[::1]:9090", "no user, no brackets"),
        ("http://prometheus.monitoring:9090/../x", "empty, '.' and '..' path"),
        ("http://prometheus.monitoring:9090?x=1", "with no query or fragment"),
        ("http://prometheus.monitoring:99999", "port 99999 is out of range"),
    ],
)
def test_prometheus_refusals(address: str, reason: str) -> None:
    (refusal,) = refused(spec(**{"analysis.prometheusAddress": address}), policy())
    assert refusal.field == "spec.analysis.prometheusAddress"
    assert reason in refusal.reason, refusal.reason


@pytest.mark.parametrize(
    ("granted", "address"),
    [
        ("http://prometheus.monitoring:9090", "http://PROMETHEUS.monitoring:9090/"),
        ("http://prometheus.monitoring:80", "http://prometheus.monitoring"),
        ("https://prom.example.com/team-a", "https://prom.example.com:443/team-a/api"),
    ],
)
def test_prometheus_grants(granted: str, address: str) -> None:
    p = policy(metrics={"prometheus": [granted]})
    assert (
        refused(
            spec(**{"analysis.prometheusAddress": address, "target.azureml.logAnalyticsWorkspaceId": None}), p
        )
        == []
    )


def test_prometheus_path_prefix_is_whole_segments() -> None:
    p = policy(metrics={"prometheus": ["https://prom.example.com/team-a"]})
    s = spec(**{"analysis.prometheusAddress": "https://prom.example.com/team-ab"})
    (refusal,) = [r for r in refused(s, p) if r.field == "spec.analysis.prometheusAddress"]
    assert refusal.reason.startswith('Prometheus endpoint "https://prom.example.com/team-ab" is not granted')


def test_workspace_registry_and_monitor_refusals() -> None:
    p = policy(
        workspaces=[{"subscriptionId": SUB, "resourceGroup": "rg-ml", "name": "mlw-other"}],
        registries=["other"],
        metrics={"azureMonitorScopes": [f"/subscriptions/{SUB}/resourceGroups/rg-other"]},
    )
    got = {r.field: r.reason for r in refused(spec(), p)}
    assert got["spec.target.azureml"] == (
        f'Azure ML workspace "{SUB}/rg-ml/mlw-team" is not granted to namespace "team-a" by any '
        f"ModelDeploymentPolicy (granted: {SUB}/rg-ml/mlw-other)"
    )
    assert got["spec.model.registry"].startswith('Azure ML registry "shared" is not granted')
    assert got["spec.target.azureml.logAnalyticsWorkspaceId"].endswith(
        f"(granted: /subscriptions/{SUB}/resourceGroups/rg-other)"
    )


def test_a_datastore_only_workspace_is_no_target() -> None:
    ws = dict(GRANT["workspaces"][0], target=False)
    (refusal,) = refused(spec(), policy(workspaces=[ws]))
    assert refusal.field == "spec.target.azureml"
    assert refusal.reason.endswith("(granted: none)")


@pytest.mark.parametrize(
    ("artifact", "reason"),
    [
        ("models:/budget/3", None),  # MLflow in the target's workspace
        ("azureml://jobs/abc/outputs/model", None),
        ("https://acct1.blob.core.windows.net/training/team-a/model.txt", None),
        ("https://models.example.com/budget/model.txt", "the host must be <account>.blob.core.windows.net"),
        ("oci://registry.example/model:1", "not a form a ModelDeploymentPolicy can grant"),
        ("file:///etc/kubernetes/model.txt", 'local path "/etc/kubernetes/model.txt" is not granted'),
    ],
)
def test_model_artifacts_on_azureml_targets(artifact: str, reason: str | None) -> None:
    s = spec(**{"model.registry": None, "model.artifactUri": artifact})
    got = [r.reason for r in refused(s, policy())]
    assert got == ([] if reason is None else [got[0]])
    if reason is not None:
        assert reason in got[0]


def test_retraining_pipeline_component_and_compute() -> None:
    other = spec(
        **{
            "rollback.retrain.azuremlPipeline": {
                "component": "azureml://registries/elsewhere/components/mine/versions/1",
                "experimentName": "x",
                "compute": "gpu-big",
            }
        }
    )
    assert messages(other, policy()) == [
        'spec.rollback.retrain.azuremlPipeline.component: Azure ML registry "elsewhere" is not granted to '
        'namespace "team-a" by any ModelDeploymentPolicy (granted: shared)',
        'spec.rollback.retrain.azuremlPipeline.component: retraining component "mine" is not granted to '
        'namespace "team-a" by any ModelDeploymentPolicy (granted: retrain-budget)',
        'spec.rollback.retrain.azuremlPipeline.compute: retraining compute "gpu-big" is not granted to '
        'namespace "team-a" by any ModelDeploymentPolicy (granted: cpu-cluster)',
    ]
    anything = policy(
        retraining={
            "pipelines": [dict(GRANT["retraining"]["pipelines"][0], components=["*"], computes=["*"])]
        },
        registries=["shared", "elsewhere"],
    )
    assert refused(other, anything) == []


def _event(url: str, secret: str | None = "hook-token") -> Any:
    event: dict[str, Any] = {"url": url}
    if secret:
        event["secretRef"] = secret
    return spec(**{"rollback.retrain": {"type": "event", "event": event}})


def test_webhook_host_and_secret() -> None:
    hooks = {"webhooks": [{"host": "hooks.example.com", "secretNames": ["hook-token"]}]}
    p = policy(retraining=hooks)
    assert refused(_event("https://hooks.example.com/x"), p) == []
    assert refused(_event("https://HOOKS.example.com:443/x"), p) == []
    assert messages(_event("https://hooks.example.com/x", "db-password"), p) == [
        'spec.rollback.retrain.event.secretRef: Secret "db-password" for webhook host "hooks.example.com" '
        'is not granted to namespace "team-a" by any ModelDeploymentPolicy (granted: hook-token)'
    ]
    assert messages(_event("https://hooks.example.com:8443/x"), p)[0].startswith(
        'spec.rollback.retrain.event.url: webhook host "hooks.example.com:8443" is not granted'
    )
    assert "no user, no brackets" in messages(_event("https://hooks.example.com@evil.com/x"), p)[0]


@pytest.mark.parametrize(
    ("selector", "labels", "selected"),
    [
        ({}, {}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
        (
            {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
            {"a": "1"},
            False,
        ),
    ],
)
def test_label_selectors(selector: dict[str, Any], labels: dict[str, str], selected: bool) -> None:
    assert LabelSelector.model_validate(selector).matches(labels) is selected
    p = policy(namespaceSelector=selector)
    assert (refused(spec(), p, labels=labels) == []) is selected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"namespaceSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
            "values must be non-empty for In and NotIn and empty for Exists and DoesNotExist",
        ),
        ({"storage": [{"account": "acct1", "containers": ["x"], "pathPrefixes": ["a/../b"]}]}, "pattern"),
        ({"storage": [{"account": "acct1", "containers": ["x"], "pathPrefixes": ["a/%2e%2e"]}]}, "pattern"),
        ({"storage": [{"account": "Acct1", "containers": ["x"]}]}, "pattern"),
        ({"storage": [{"account": "acct1", "containers": []}]}, "at least 1 item"),
        ({"localPaths": ["relative/path"]}, "pattern"),
        ({"metrics": {"prometheus": ["http://user@prom:9090"]}}, "pattern"),
    ],
)
def test_invalid_policies_are_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelDeploymentPolicySpec.model_validate({**GRANT, **change})


def test_full_spec_fixture_is_valid_and_uses_every_grant_kind() -> None:
    # Each grant is needed: dropping any one of them refuses something.
    for key in ("storage", "workspaces", "registries", "metrics", "retraining"):
        assert refused(spec(), policy(**{key: GRANT[key].__class__()})), key
    assert FULL["target"]["type"] == "azureml"
    assert TEAM["kdap.io/team"] == "a"


def test_a_grant_the_parser_refuses_grants_nothing_and_breaks_nothing() -> None:
    # The CRD patterns let these through; the parser refuses them: they grant nothing and raise nothing.
    odd = policy(
        metrics={
            "prometheus": ["http://prometheus.monitoring:99999"],
            "azureMonitorScopes": [f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/a//../b"],
        }
    )
    fields = [r.field for r in refused(spec(), odd)]
    assert fields == ["spec.target.azureml.logAnalyticsWorkspaceId", "spec.analysis.prometheusAddress"]


def test_the_example_policies_grant_every_example_and_nothing_beyond() -> None:
    from pathlib import Path

    import yaml

    from modeldeploy.api.spec import ModelDeploymentSpec
    from modeldeploy.policy import Policy, check

    examples = Path(__file__).resolve().parents[2] / "examples"
    docs = [d for f in sorted(examples.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    policies = [
        Policy(d["metadata"]["name"], ModelDeploymentPolicySpec.model_validate(d["spec"]))
        for d in docs
        if d["kind"] == "ModelDeploymentPolicy"
    ]
    specs = [ModelDeploymentSpec.model_validate(d["spec"]) for d in docs if d["kind"] == "ModelDeployment"]
    assert len(policies) == 2
    assert len(specs) >= 8
    team = {"kdap.io/tier": "prod", "kdap.io/team": "growth"}
    assert [str(r) for s in specs for r in check(s, "growth-prod", "m", team, policies)] == []
    # another team's namespace gets none of it
    other = {"kdap.io/tier": "prod", "kdap.io/team": "fraud"}
    assert sum(len(check(s, "fraud-prod", "m", other, policies)) for s in specs) > len(specs)


def test_a_kubernetes_target_runs_only_with_granted_service_accounts_and_secrets() -> None:
    """Finding 7: the operator creates the pods, so a user who may only write ModelDeployments could run
    them with any ServiceAccount (and its API rights) or any Secret of the namespace."""
    from modeldeploy.api.spec import ModelDeploymentSpec
    from modeldeploy.policy import Policy, check
    from tests.e2e.manifests import model_deployment

    spec_body = model_deployment("m")["spec"]
    spec_body["target"]["kubernetes"] |= {
        "serviceAccountName": "cluster-admin-ish",
        "env": [
            {"name": "A", "value": "x"},
            {"name": "B", "secretKeyRef": {"name": "db-password", "key": "p"}},
        ],
    }
    spec = ModelDeploymentSpec.model_validate(spec_body)
    labels = {"team": "a"}

    def policy(**kubernetes: list[str]) -> Policy:
        return Policy(
            "p",
            ModelDeploymentPolicySpec.model_validate(
                {"namespaceSelector": {"matchLabels": labels}, "kubernetes": kubernetes}
            ),
        )

    refused = [str(r) for r in check(spec, "team-a", "m", labels, [policy()])]
    assert refused == [
        'spec.target.kubernetes.serviceAccountName: ServiceAccount "cluster-admin-ish" is not granted to '
        'namespace "team-a" by any ModelDeploymentPolicy (granted: none)',
        'spec.target.kubernetes.env[1].secretKeyRef.name: Secret "db-password" is not granted to namespace '
        '"team-a" by any ModelDeploymentPolicy (granted: none)',
    ]
    partly = [str(r) for r in check(spec, "team-a", "m", labels, [policy(secrets=["db-password"])])]
    assert [r.split(":")[0] for r in partly] == ["spec.target.kubernetes.serviceAccountName"]
    assert check(spec, "team-a", "m", labels, [policy(serviceAccounts=["*"], secrets=["db-password"])]) == []
    with pytest.raises(ValueError, match="String should match pattern"):
        policy(secrets=["../x"])


def test_registering_into_a_registry_needs_it_granted() -> None:
    registration = {"description": "d", "trainingData": "azureml:train:1", "registry": "prod-models"}
    s = spec(**{
        "model.registry": None,
        "model.artifactUri": "https://acct1.blob.core.windows.net/training/team-a/model.txt",
        "model.registration": registration,
    })  # fmt: skip
    (refusal,) = refused(s, policy())
    assert refusal.field == "spec.model.registration.registry"
    assert refusal.reason.startswith('Azure ML registry "prod-models" is not granted to namespace "team-a"')
    assert refused(s, policy(registries=["shared", "prod-models"])) == []


def test_a_validation_golden_set_is_data_and_needs_its_storage_granted() -> None:
    granted = "https://acct1.blob.core.windows.net/training/team-a/golden.json"
    s = spec(**{"validation": {"requestsUri": granted}})
    assert refused(s, policy()) == []
    s = spec(**{"validation": {"requestsUri": "https://acct1.blob.core.windows.net/other/golden.json"}})
    (refusal,) = refused(s, policy())
    assert refusal.field == "spec.validation.requestsUri"
    assert refusal.reason == (
        'container "other" of storage account "acct1" is not granted to namespace "team-a" by any '
        "ModelDeploymentPolicy (granted: training)"
    )
