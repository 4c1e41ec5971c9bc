"""A batch model's data URIs are grants like drift data: input, output, validation input, watched folder."""

from __future__ import annotations

from typing import Any

from modeldeploy.policy import Policy
from tests.api.batch_cases import batch_azureml, batch_kubernetes
from tests.security.policy_cases import policy, refused, spec


def test_every_batch_uri_needs_a_grant_and_is_named() -> None:
    body = batch_kubernetes()
    assert [r.field for r in refused(spec(body))] == [
        "spec.batch.input",
        "spec.batch.output.uri",
        "spec.batch.rollout.input",
        "spec.batch.dataArrival.uri",
    ]


def test_a_granted_folder_covers_them_and_a_neighbour_is_refused() -> None:
    granted = policy(localPaths=["/data/churn"])
    assert refused(spec(batch_kubernetes()), granted) == []
    body = batch_kubernetes()
    body["batch"]["output"]["uri"] = "file:///data/churn-other/scores/{revision}"
    (only,) = refused(spec(body), granted)
    assert str(only) == (
        'spec.batch.output.uri: local path "/data/churn-other/scores/{revision}" is not granted to namespace '
        '"team-a" by any ModelDeploymentPolicy (granted: /data/churn)'
    )


def _azureml_grant(computes: list[str]) -> Policy:
    ws = {
        "subscriptionId": "00000000-0000-0000-0000-000000000000",
        "resourceGroup": "rg-kdap",
        "name": "mlw-kdap",
        "datastores": [{"name": "churn"}, {"name": "batch_outputs", "pathPrefixes": ["team-a"]}],
        "computes": computes,
    }
    return policy(workspaces=[ws])


def _azureml_batch() -> dict[str, Any]:
    body = batch_azureml()
    body["batch"]["output"]["uri"] = "azureml://datastores/batch_outputs/paths/{namespace}/{name}/{revision}"
    return body


def test_an_azureml_batch_model_needs_its_workspace_datastores_and_compute_granted() -> None:
    fields = [r.field for r in refused(spec(_azureml_batch()))]
    assert fields[0] == "spec.target.azureml"
    assert fields[-5:] == [
        "spec.batch.input",
        "spec.batch.output.uri",
        "spec.batch.rollout.input",
        "spec.batch.dataArrival.uri",
        "spec.batch.compute",
    ]
    assert refused(spec(_azureml_batch()), _azureml_grant(["cpu-cluster"])) == []
    assert refused(spec(_azureml_batch()), _azureml_grant(["*"])) == []


def test_a_compute_cluster_not_granted_is_refused_with_what_is() -> None:
    (only,) = refused(spec(_azureml_batch()), _azureml_grant(["gpu-spot-cluster"]))
    assert str(only) == (
        'spec.batch.compute: compute "cpu-cluster" of Azure ML workspace '
        '"00000000-0000-0000-0000-000000000000/rg-kdap/mlw-kdap" is not granted to namespace "team-a" by any '
        "ModelDeploymentPolicy (granted: gpu-spot-cluster)"
    )


def test_an_output_outside_the_granted_datastore_folder_is_refused() -> None:
    body = _azureml_batch()
    body["batch"]["output"]["uri"] = "azureml://datastores/batch_outputs/paths/team-b/{name}"
    (only,) = refused(spec(body), _azureml_grant(["cpu-cluster"]))
    assert only.field == "spec.batch.output.uri"
    assert 'path "team-b/budget" in datastore "batch_outputs"' in only.reason


def test_the_azureml_batch_example_is_within_the_example_policy_and_a_gpu_cluster_is_not() -> None:
    import yaml

    from modeldeploy.api.policy import ModelDeploymentPolicySpec
    from modeldeploy.api.spec import ModelDeploymentSpec
    from modeldeploy.policy import check
    from tests.conftest import ROOT

    (doc,) = yaml.safe_load_all((ROOT / "examples" / "azureml-propensity-scorer-batch.yaml").read_text())
    policies = yaml.safe_load_all((ROOT / "examples" / "model-deployment-policy.yaml").read_text())
    grant = next(d for d in policies if d and d["metadata"]["name"] == "ml-teams-prod")
    prod = Policy("ml-teams-prod", ModelDeploymentPolicySpec.model_validate(grant["spec"]))
    labels = {"kdap.io/tier": "prod", "kdap.io/team": "growth"}
    assert check(ModelDeploymentSpec.model_validate(doc["spec"]), "ml-serving", "p", labels, [prod]) == []
    doc["spec"]["batch"]["compute"] = "gpu-dedicated"
    (only,) = check(ModelDeploymentSpec.model_validate(doc["spec"]), "ml-serving", "p", labels, [prod])
    assert str(only).startswith('spec.batch.compute: compute "gpu-dedicated" of Azure ML workspace')
    assert str(only).endswith("(granted: aks-inference, cpu-spot, gpu-spot)")
