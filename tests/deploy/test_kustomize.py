"""The GitOps install: what base and overlays render to; the copies and the image agree with the repo."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from modeldeploy.controller import main as operator_main
from tests.conftest import ROOT
from tests.deploy.render import KUSTOMIZE, one, render


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {t: render(t) for t in ("base", "overlays/dev", "overlays/prod", "overlays/namespaced")}


def test_base_has_every_piece_of_the_install(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["base"]
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    assert kinds == [
        "ClusterKopfPeering/modeldeploy",
        "ClusterRole/kdap-modeldeploy-admin",
        "ClusterRole/kdap-modeldeploy-deployer",
        "ClusterRole/kdap-modeldeploy-reader",
        "ClusterRole/modeldeploy-operator",
        "ClusterRole/modeldeploy-operator-cluster",
        "ClusterRole/modeldeploy-retraining-secrets",
        "ClusterRoleBinding/modeldeploy-operator",
        "ClusterRoleBinding/modeldeploy-operator-cluster",
        "CustomResourceDefinition/clusterkopfpeerings.kopf.dev",
        "CustomResourceDefinition/kopfpeerings.kopf.dev",
        "CustomResourceDefinition/modeldeploymentpolicies.mlops.kdap.io",
        "CustomResourceDefinition/modeldeployments.mlops.kdap.io",
        "Deployment/modeldeploy",
        "Namespace/kdap-system",
        "PodDisruptionBudget/modeldeploy",
        "Role/modeldeploy-platform-handoff",
        "Role/modeldeploy-platform-notifications",
        "RoleBinding/modeldeploy-platform-handoff",
        "RoleBinding/modeldeploy-platform-notifications",
        "Service/modeldeploy-metrics",
        "ServiceAccount/modeldeploy",
        "ValidatingAdmissionPolicy/kdap-modeldeploy-status-requests",
        "ValidatingAdmissionPolicyBinding/kdap-modeldeploy-status-requests",
    ]
    for d in docs:  # cluster-scoped objects carry no namespace, namespaced ones all land in kdap-system
        cluster_scoped = d["kind"] in ("ClusterKopfPeering", "ClusterRole", "ClusterRoleBinding", "Namespace",
                                       "CustomResourceDefinition", "ValidatingAdmissionPolicy",
                                       "ValidatingAdmissionPolicyBinding")  # fmt: skip
        assert d["metadata"].get("namespace") == (None if cluster_scoped else "kdap-system"), d["metadata"]
    for name in ("modeldeploy-operator", "modeldeploy-operator-cluster"):
        binding = one(docs, "ClusterRoleBinding", name)
        assert binding["roleRef"]["name"] == name
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "modeldeploy", "namespace": "kdap-system"}
        ]


def test_deployment_is_ha_probed_bounded_and_locked_down(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    dep = one(rendered["base"], "Deployment", "modeldeploy")
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    assert dep["metadata"]["namespace"] == "kdap-system"
    assert dep["spec"]["replicas"] == 2
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == "modeldeploy"
    assert c["image"] == "ghcr.io/kdap/modeldeploy-operator:0.1.0"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert set(c["resources"]) == {"requests", "limits"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    # the args are ones the entry point accepts, and they serve the ports the probes and Service use
    args = operator_main.build_parser().parse_args(c["args"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert args.metrics_port == ports["metrics"]
    assert args.liveness == f"http://0.0.0.0:{ports['health']}/healthz"
    assert args.standalone is False  # peering: two replicas, one active
    pdb = one(rendered["base"], "PodDisruptionBudget", "modeldeploy")
    assert pdb["spec"] == {"minAvailable": 1, "selector": dep["spec"]["selector"]}


def test_overlays(rendered: dict[str, list[dict[str, Any]]]) -> None:
    dev = one(rendered["overlays/dev"], "Deployment", "modeldeploy")
    assert dev["spec"]["replicas"] == 1
    assert dev["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":dev")
    assert "--verbose" in dev["spec"]["template"]["spec"]["containers"][0]["args"]
    assert one(rendered["overlays/dev"], "PodDisruptionBudget", "modeldeploy")["spec"]["maxUnavailable"] == 1
    prod = one(rendered["overlays/prod"], "Deployment", "modeldeploy")
    assert prod["spec"]["replicas"] == 2
    anti = prod["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert (
        anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == "kubernetes.io/hostname"
    )
    sa = one(rendered["overlays/prod"], "ServiceAccount", "modeldeploy")
    assert (
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"]
        == "11111111-2222-3333-4444-555555555555"
    )
    rb = one(rendered["overlays/prod"], "RoleBinding", "modeldeploy-retraining-secrets")
    assert rb["metadata"]["namespace"] == "models"
    assert rb["roleRef"]["name"] == "modeldeploy-retraining-secrets"


@pytest.mark.parametrize("target", ["base", "overlays/dev", "overlays/prod", "overlays/namespaced"])
def test_every_install_enforces_model_deployment_policies(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    args = one(rendered[target], "Deployment", "modeldeploy")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert [a for a in args if a.startswith("--policy")] == ["--policy=enforce"]
    assert operator_main.build_parser().parse_args([]).policy == "enforce"  # and the flag's own default
    # cluster-scoped reads: in the cluster role, which the namespaced install binds cluster-wide as well
    role = one(rendered[target], "ClusterRole", "modeldeploy-operator-cluster")
    reads = [r for r in role["rules"] if "modeldeploymentpolicies" in r["resources"]]
    assert [r["verbs"] for r in reads] == [["list", "watch"]]


def test_cluster_role_has_no_wildcards_and_no_cluster_wide_secrets(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    role = one(rendered["base"], "ClusterRole", "modeldeploy-operator")
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        assert "secrets" not in rule["resources"]
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])


@pytest.mark.parametrize(
    ("copy", "source"),
    [
        ("base/crds/modeldeployments.mlops.kdap.io.yaml", "crds/modeldeployments.mlops.kdap.io.yaml"),
        ("base/crds/kopf-peering.yaml", "deploy/crds/kopf-peering.yaml"),
        ("base/peering.yaml", "deploy/peering.yaml"),
    ],
)
def test_copies_match_their_source(copy: str, source: str) -> None:
    assert (KUSTOMIZE / copy).read_text() == (ROOT / source).read_text(), (
        f"deploy/kustomize/{copy} is stale: cp {source} deploy/kustomize/{copy}"
    )


def test_container_image_installs_the_runtime_dependencies_and_runs_as_the_pod_user(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    text = (ROOT / "deploy" / "Containerfile").read_text()
    install = re.search(r"# RUNTIME-DEPS.*?\nRUN ((?:.*\\\n)*.*)\n", text)
    assert install, "the RUNTIME-DEPS pip install is missing from deploy/Containerfile"
    listed = set(install.group(1).replace("\\\n", " ").split()) - {
        "/opt/venv/bin/pip",
        "install",
        "-q",
        "-c",
        "requirements.lock",
    }
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower() for d in deps}
    assert listed == {n for n in names if not n.startswith("pulumi")}
    dep = one(rendered["base"], "Deployment", "modeldeploy")
    uid = dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert f"USER {uid}:{uid}" in text
    assert 'ENTRYPOINT ["python", "-m", "modeldeploy", "operator"]' in text


def test_the_platform_handoff_is_the_one_configmap_the_operator_reads(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    from modeldeploy.api import platform

    for target in ("base", "overlays/prod", "overlays/namespaced"):
        role = one(rendered[target], "Role", "modeldeploy-platform-handoff")
        assert role["metadata"]["namespace"] == platform.HANDOFF_NAMESPACE
        assert role["rules"] == [
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [platform.HANDOFF_CONFIGMAP],
             "verbs": ["get"]}
        ]  # fmt: skip
        binding = one(rendered[target], "RoleBinding", "modeldeploy-platform-handoff")
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "modeldeploy", "namespace": platform.HANDOFF_NAMESPACE}
        ]


def test_platform_notification_secrets_are_readable_by_name_only_in_the_operator_namespace(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for target in ("base", "overlays/prod", "overlays/namespaced"):
        role = one(rendered[target], "Role", "modeldeploy-platform-notifications")
        assert role["metadata"]["namespace"] == "kdap-system"
        assert role["rules"] == [
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["modeldeploy-notifications"],
             "verbs": ["get"]}
        ]  # fmt: skip
        env = one(rendered[target], "Deployment", "modeldeploy")["spec"]["template"]["spec"]["containers"][0][
            "env"
        ]
        assert {
            "name": "POD_NAMESPACE",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        } in env


def test_the_status_admission_policy_compares_every_status_field_but_the_requests(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    """A status field added to the CRD but not to the policy would be writable by anyone with status patch."""
    policy = one(rendered["base"], "ValidatingAdmissionPolicy", "kdap-modeldeploy-status-requests")
    (validation,) = policy["spec"]["validations"]
    terms = validation["expression"].split(" &&\n")
    crd = one(rendered["base"], "CustomResourceDefinition", "modeldeployments.mlops.kdap.io")
    (version,) = crd["spec"]["versions"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    fields = [(f, s) for f, s in status.items() if f not in ("request", "batch")]
    fields += [(f"batch.?{f}", s) for f, s in status["batch"]["properties"].items() if f != "runRequest"]
    expected = []
    for path, schema in sorted(fields):
        new, old = f"object.?status.?{path}", f"oldObject.?status.?{path}"
        if "default" in schema:  # a defaulted field appears when its parent is first written
            value = json.dumps(schema["default"]).replace('"', "'")
            new, old = f"{new}.orValue({value})", f"{old}.orValue({value})"
        expected.append(f"{new} == {old}")
    assert [t.strip() for t in terms] == expected
    binding = one(rendered["base"], "ValidatingAdmissionPolicyBinding", "kdap-modeldeploy-status-requests")
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
