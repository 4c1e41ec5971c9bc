"""One naming scheme: the examples and the README name what infra's naming produces for the prod stack, and
the drift reader reads the folders the data collector the operator turns on writes to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kdap_infra.testing import ProgramRun
from modeldeploy.analysis.service import _placeholders
from modeldeploy.analysis.sources import is_collector_folder
from modeldeploy.analysis.uris import fill
from modeldeploy.api import platform
from modeldeploy.api.azure_names import deployment_name
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.ports import Owner
from tests.seam.platform_world import EXAMPLES, SEED_EXAMPLES, example, handoff

ROOT = EXAMPLES.parent


def without_subscription(arm_id: str) -> str:
    return re.sub(r"^/subscriptions/[^/]+", "", arm_id)


def azureml_examples() -> list[Path]:
    found = []
    for p in sorted(EXAMPLES.rglob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(p.read_text()) if d and d.get("kind") == "ModelDeployment"]
        if any(d["spec"]["target"]["type"] == "azureml" for d in docs):
            found.append(p)
    assert found, "no azureml example found"
    return found


@pytest.mark.parametrize("model", sorted(SEED_EXAMPLES))
def test_each_seed_example_targets_exactly_what_prod_hands_over(prod: ProgramRun, model: str) -> None:
    h = handoff(prod)
    declared = h["models"][model]
    manifest = example(SEED_EXAMPLES[model])
    aml = manifest["spec"]["target"]["azureml"]
    assert (
        f"{manifest['metadata']['namespace']}/{manifest['metadata']['name']}" == declared["modelDeployment"]
    )
    assert (aml["resourceGroup"], aml["workspace"]) == (h["resourceGroup"], h["workspace"])
    assert (aml["endpointName"], aml["endpointKind"]) == (declared["endpointName"], declared["endpointKind"])
    assert aml.get("compute") == declared["compute"]
    target = ModelDeploymentSpec.model_validate(manifest["spec"]).target.azureml
    assert target is not None
    assert target.effective_auth_mode() == declared["authMode"]
    if "logAnalyticsWorkspaceId" in aml:
        assert without_subscription(aml["logAnalyticsWorkspaceId"]) == without_subscription(
            h["logAnalyticsWorkspaceId"]
        )


def test_every_azureml_example_names_infras_workspace_registry_and_compute(prod: ProgramRun) -> None:
    h = handoff(prod)
    files = azureml_examples()
    assert len(files) >= 5
    for path in files:
        text = path.read_text()
        aml = yaml.safe_load(text)["spec"]["target"]["azureml"]
        assert (aml["resourceGroup"], aml["workspace"]) == (h["resourceGroup"], h["workspace"]), path.name
        assert aml.get("compute", h["kubernetesCompute"]) == h["kubernetesCompute"], path.name
    registries = {
        m for p in EXAMPLES.rglob("*.yaml") for m in re.findall(r"registries/([^/]+)/", p.read_text())
    }
    assert registries == {h["registry"]}
    assert any(r.inputs.get("registryName") == h["registry"]
               for r in prod.of_type("azure-native:machinelearningservices:Registry"))  # fmt: skip


def test_the_readme_uses_the_same_names(prod: ProgramRun) -> None:
    readme = (ROOT / "README.md").read_text()
    h = handoff(prod)
    for name in (h["resourceGroup"], h["workspace"], h["registry"], h["kubernetesCompute"]):
        assert name in readme, name
    for stale in ("mlw-kdap", "rg-kdap", "kdap-shared", "registries/kdap-models"):
        assert stale not in readme, stale


@pytest.mark.parametrize("model", ["budget-optimizer", "propensity-scorer", "anomaly-detector"])
def test_the_drift_reader_reads_where_the_data_collector_writes(prod: ProgramRun, model: str) -> None:
    manifest = example(SEED_EXAMPLES[model])
    spec = ModelDeploymentSpec.model_validate(manifest["spec"])
    assert spec.analysis is not None
    assert spec.analysis.drift is not None
    assert spec.target.azureml is not None
    live = spec.analysis.drift.live.uri
    assert live == handoff(prod)["models"][model]["dataCollector"]["model_inputs"] == platform.LIVE_INPUTS_URI
    owner = Owner(manifest["metadata"]["namespace"], manifest["metadata"]["name"], "uid")
    revision = f"{model}-0123456789"
    filled = fill(live, _placeholders(owner, revision, spec.target.azureml))
    endpoint = handoff(prod)["models"][model]["endpointName"]
    assert filled == platform.collector_uri(endpoint, deployment_name(revision), "model_inputs")
    assert is_collector_folder(filled.split("/paths/", 1)[1])  # read by hour folder, not whole
