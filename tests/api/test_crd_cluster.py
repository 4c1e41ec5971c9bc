"""The generated CRD on a real kube-apiserver.

Examples apply, invalid manifests are refused with the field named, server-filled defaults equal the models'
defaults, and what the server returns parses back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml

from modeldeploy.api import API_VERSION, KIND, ModelDeploymentSpec
from modeldeploy.api.status import ModelDeploymentStatus
from tests.api.batch_cases import BATCH_INVALID, batch_azureml, batch_kubernetes
from tests.api.mdep_cases import INVALID as ONLINE_INVALID
from tests.api.mdep_cases import Invalid, Manifest, azureml_shadow, kubernetes_canary, serverless_canary

INVALID = [*ONLINE_INVALID, *BATCH_INVALID]

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("crds")]

Kubectl = Callable[..., CompletedProcess[str]]
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def _object(name: str, spec: Manifest) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}


def _create(
    kubectl: Kubectl, namespace: str, obj: dict[str, Any], *, dry_run: bool = False
) -> CompletedProcess[str]:
    args = ["create", "-n", namespace, "-f", "-", "-o", "json"]
    if dry_run:
        args.append("--dry-run=server")
    return kubectl(*args, input=json.dumps(obj), check=False)


def _created_spec(kubectl: Kubectl, namespace: str, name: str, spec: Manifest) -> dict[str, Any]:
    proc = _create(kubectl, namespace, _object(name, spec))
    assert proc.returncode == 0, proc.stderr
    stored: dict[str, Any] = json.loads(proc.stdout)["spec"]
    return stored


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_applies(kubectl: Kubectl, namespace: str, path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "ModelDeploymentPolicy":  # cluster-scoped: checked, not kept
            proc = kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(doc), check=False)
            assert proc.returncode == 0, f"{path.name}: {proc.stderr}"
            continue
        if not doc or doc.get("kind") != KIND:
            continue
        doc["metadata"].pop("namespace", None)  # each test gets its own namespace
        proc = kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(doc), check=False)
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"
        got = json.loads(
            kubectl("get", "mdep", doc["metadata"]["name"], "-n", namespace, "-o", "json").stdout
        )
        assert ModelDeploymentSpec.model_validate(got["spec"]).model.name == doc["spec"]["model"]["name"]


@pytest.mark.parametrize(
    "base", [kubernetes_canary, azureml_shadow, serverless_canary, batch_kubernetes, batch_azureml]
)
def test_valid_bases_are_accepted(kubectl: Kubectl, namespace: str, base: Callable[[], Manifest]) -> None:
    # The invalid cases are these bases with one thing broken: a refusal must come from that one thing.
    proc = _create(kubectl, namespace, _object("base", base()), dry_run=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("case", INVALID, ids=[c.id for c in INVALID])
def test_invalid_manifest_rejected_naming_the_field(kubectl: Kubectl, namespace: str, case: Invalid) -> None:
    proc = _create(kubectl, namespace, _object("broken", case.spec()), dry_run=True)
    assert proc.returncode != 0, f"{case.id}: the apiserver accepted it"
    assert case.path in proc.stderr, proc.stderr
    assert case.server in proc.stderr, proc.stderr


def _minimal_variants() -> dict[str, Manifest]:
    """Specs that leave every defaulted field out (quantities as text: the server keeps ints as ints)."""
    k8s = kubernetes_canary()
    k8s["target"]["kubernetes"]["resources"]["limits"]["cpu"] = "1"
    blue_green = azureml_shadow()
    blue_green["strategy"] = {"type": "blueGreen", "blueGreen": {}}
    blue_green["analysis"] = {
        "metrics": [{"name": "p99", "provider": "azureMonitor", "builtin": "latencyP99", "max": 1}]
    }
    day = {"name": "day", "cron": "0 8 * * *", "duration": "8h", "minReplicas": 2}
    blue_green["autoscaling"] = {"maxReplicas": 3, "schedules": [day]}
    full = kubernetes_canary()
    full["target"]["kubernetes"]["resources"]["limits"]["cpu"] = "1"
    full["target"]["kubernetes"]["livenessProbe"] = {}
    full["analysis"]["drift"]["prediction"] = {}
    full["rollback"] = {"retrain": {"type": "azuremlPipeline", "azuremlPipeline": {
        "component": "azureml:retrain:1", "experimentName": "retrain"}}}  # fmt: skip
    shadow = azureml_shadow()
    shadow["strategy"]["shadow"]["comparison"] = {"prediction": {}, "latency": {}, "errorRate": {}}
    batch = batch_kubernetes()
    batch["batch"] = {
        "output": {"uri": "file:///data/out"},
        "schedules": [],
        "rollout": {"input": "file:///g"},
    }
    aml_batch = batch_azureml()
    aml_batch["batch"] = {
        "input": "azureml://datastores/training_data/paths/in/",
        "output": {"uri": "azureml://datastores/batch_outputs/paths/out"},
        "compute": "cpu-spot",
        "schedules": [{"name": "hourly", "recurrence": {"frequency": "hour"}}],
    }
    return {
        "canary-k8s": k8s,
        "blue-green-aml": blue_green,
        "full": full,
        "shadow-aml": shadow,
        "batch-k8s": batch,
        "batch-aml": aml_batch,
    }


@pytest.mark.parametrize(("name", "spec"), list(_minimal_variants().items()), ids=list(_minimal_variants()))
def test_server_defaults_equal_model_defaults(
    kubectl: Kubectl, namespace: str, name: str, spec: Manifest
) -> None:
    stored = _created_spec(kubectl, namespace, name, spec)
    assert stored == ModelDeploymentSpec.model_validate(spec).to_manifest()


def _sample_status() -> dict[str, Any]:
    return {
        "phase": "Progressing",
        "message": "step 1 of 2",
        "observedGeneration": 1,
        "conditions": [{"type": "Progressing", "status": "True", "reason": "StepStarted",
                        "lastTransitionTime": "2026-01-02T03:04:05Z"}],
        "stable": {"name": "rt-aaaa", "specHash": "aaaa", "modelVersion": "1.3.0"},
        "candidate": {"name": "rt-bbbb", "specHash": "bbbb", "modelVersion": "1.4.0"},
        "traffic": {"weights": {"rt-aaaa": 90, "rt-bbbb": 10}, "candidateWeight": 10},
        "currentStepIndex": 0,
        "lastAnalysis": {"revision": "rt-bbbb", "verdict": "Successful",
                         "metrics": [{"name": "error-rate", "value": 0.002, "verdict": "Successful"}],
                         "drift": [{"feature": "spend", "test": "ks", "pValue": 0.4, "threshold": 0.05,
                                    "verdict": "Successful"}]},
    }  # fmt: skip


def test_round_trip_through_models(kubectl: Kubectl, namespace: str) -> None:
    spec = kubernetes_canary()
    _created_spec(kubectl, namespace, "round-trip", spec)
    status = ModelDeploymentStatus.model_validate(_sample_status())
    kubectl("patch", "mdep", "round-trip", "-n", namespace, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": status.to_body()}))  # fmt: skip
    got = json.loads(kubectl("get", "mdep", "round-trip", "-n", namespace, "-o", "json").stdout)
    parsed_spec = ModelDeploymentSpec.model_validate(got["spec"])
    assert parsed_spec == ModelDeploymentSpec.model_validate(spec)
    assert ModelDeploymentStatus.model_validate(got["status"]) == status
    # And back: what the models write is what the server already holds (modulo int quantities kept as ints).
    assert ModelDeploymentStatus.model_validate(got["status"]).to_body() == got["status"]
    table = kubectl("get", "mdep", "-n", namespace).stdout
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "READY", "STABLE", "SERVING", "CANDIDATE", "WEIGHT", "AGE"]
    # the sample status has no Ready condition: its cell is empty
    assert row.split()[:6] == ["round-trip", "Progressing", "rt-aaaa", "1.3.0", "rt-bbbb", "10"]
    assert row[header.index("READY") : header.index("STABLE")].strip() == ""


def test_short_name_and_category_list_it(kubectl: Kubectl, namespace: str) -> None:
    _created_spec(kubectl, namespace, "listed", kubernetes_canary())
    for resource in ("mdep", "kdap", "mlops"):
        out = kubectl("get", resource, "-n", namespace, "-o", "name").stdout
        assert "modeldeployment.mlops.kdap.io/listed" in out, resource


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target.azureml.endpointName", "propensity-v2", "target.azureml.endpointName is immutable"),
        ("target.azureml.workspace", "mlw-other", "target.azureml.workspace is immutable"),
        (
            "target.azureml.subscriptionId",
            "11111111-1111-1111-1111-111111111111",
            "subscriptionId is immutable",
        ),
    ],
)
def test_immutable_fields(kubectl: Kubectl, namespace: str, field: str, value: str, message: str) -> None:
    spec = azureml_shadow()
    _created_spec(kubectl, namespace, "fixed", spec)
    got = json.loads(kubectl("get", "mdep", "fixed", "-n", namespace, "-o", "json").stdout)
    node = got["spec"]
    *parents, last = field.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    proc = kubectl("replace", "-n", namespace, "-f", "-", input=json.dumps(got), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_target_type_is_immutable_and_model_version_is_not(kubectl: Kubectl, namespace: str) -> None:
    _created_spec(kubectl, namespace, "moving", kubernetes_canary())
    got = json.loads(kubectl("get", "mdep", "moving", "-n", namespace, "-o", "json").stdout)
    swapped = json.loads(json.dumps(got))
    swapped["spec"]["target"] = azureml_shadow()["target"]
    swapped["spec"]["analysis"]["metrics"][0]["provider"] = "azureMonitor"
    proc = kubectl("replace", "-n", namespace, "-f", "-", input=json.dumps(swapped), check=False)
    assert proc.returncode != 0
    assert "target.type is immutable" in proc.stderr
    got["spec"]["model"]["version"] = "1.5.0"
    kubectl("replace", "-n", namespace, "-f", "-", input=json.dumps(got))
    after = json.loads(kubectl("get", "mdep", "moving", "-n", namespace, "-o", "json").stdout)
    assert after["spec"]["model"]["version"] == "1.5.0"
    assert after["metadata"]["generation"] == 2
