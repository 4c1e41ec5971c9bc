"""The namespaced install (deploy/kustomize/overlays/namespaced), for real: its roles applied to the real
control plane, the operator run under its ServiceAccount's token with one --namespace per watched namespace
rolls a canary to Promoted there, cannot write anywhere else, and never touches a ModelDeployment in a
namespace it was not given.

The rendered manifests are renamed for the test (ServiceAccount, bindings, the two team namespaces), so the
cluster-wide install of test_least_privilege.py in the same session grants this identity nothing."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from localkube.testing import ClusterHandle
from tests.deploy.as_operator import denials, operator_process, sa_kubeconfig
from tests.deploy.render import one, render
from tests.e2e.conftest import get_md, phase, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster
SA_NAME = "modeldeploy-namespaced"
SA = f"system:serviceaccount:kdap-system:{SA_NAME}"


def test_the_overlay_binds_the_namespace_role_only_per_namespace() -> None:
    docs = render("overlays/namespaced")
    kinds = {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in docs}
    assert ("ClusterRoleBinding", "modeldeploy-operator", None) not in kinds  # deleted by the overlay
    assert ("ClusterKopfPeering", "modeldeploy", None) not in kinds
    for ns in ("team-a", "team-b"):
        assert ("RoleBinding", "modeldeploy-operator", ns) in kinds
        assert ("KopfPeering", "modeldeploy", ns) in kinds
    args = one(docs, "Deployment", "modeldeploy")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--namespace")] == ["--namespace=team-a", "--namespace=team-b"]
    cluster_rules = one(docs, "ClusterRole", "modeldeploy-operator-cluster")["rules"]
    assert {v for r in cluster_rules for v in r["verbs"]} <= {"get", "list", "watch", "patch"}
    assert [r["resources"] for r in cluster_rules if "patch" in r["verbs"]] == [["clusterkopfpeerings"]]


def _renamed(docs: list[dict[str, Any]], teams: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for d in docs:
        if d["kind"] in ("Deployment", "Service", "PodDisruptionBudget"):
            continue  # the operator runs here as a process
        d = json.loads(json.dumps(d))
        meta = d["metadata"]
        meta["namespace"] = teams.get(meta.get("namespace", ""), meta.get("namespace"))
        if meta["namespace"] is None:
            del meta["namespace"]
        if d["kind"] == "ServiceAccount":
            meta["name"] = SA_NAME
        if d["kind"] == "ClusterRoleBinding":
            meta["name"] += "-namespaced-test"
        for s in d.get("subjects") or []:
            s["name"] = SA_NAME
        out.append(d)
    return out


@pytest.fixture
def teams(cluster: ClusterHandle, gateway: str) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:6]
    names = {t: f"{t}-{suffix}" for t in ("team-a", "team-b", "team-c")}
    for ns in names.values():
        cluster.kubectl("create", "namespace", ns)
    docs = _renamed(render("overlays/namespaced"), names)
    crd_docs = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all(crd_docs)
    )
    for crd in crd_docs:
        cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}"
        )
    rest = yaml.safe_dump_all([d for d in docs if d["kind"] != "CustomResourceDefinition"])
    for _ in range(40):  # kubectl's discovery may not list the new kinds at once
        out = cluster.kubectl(
            "apply", "--server-side", "--force-conflicts", "-f", "-", input=rest, check=False
        )
        if out.returncode == 0:
            break
        time.sleep(0.5)
    assert out.returncode == 0, out.stderr
    try:
        yield names
    finally:
        for ns in names.values():
            cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture
def operator(
    cluster: ClusterHandle, teams: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    kubeconfig = sa_kubeconfig(cluster, SA_NAME, tmp_path / "sa.kubeconfig")
    log = tmp_path / "operator.log"
    args = [
        f"--namespace={teams['team-a']}",
        f"--namespace={teams['team-b']}",
        "--metrics-port=0",
        "--liveness=",
    ]
    with operator_process(kubeconfig, log, *args) as proc:  # peered, as the Deployment runs it
        yield proc, log


@pytest.mark.parametrize(
    ("verb", "resource", "team", "allowed"),
    [
        ("create", "deployments.apps", "team-a", "yes"),
        ("patch", "modeldeployments.mlops.kdap.io/status", "team-b", "yes"),
        ("watch", "pods", "team-a", "yes"),
        ("create", "deployments.apps", "team-c", "no"),
        ("patch", "modeldeployments.mlops.kdap.io/status", "team-c", "no"),
        ("watch", "pods", "team-c", "no"),
        ("list", "deployments.apps", None, "no"),  # nothing cluster-wide
        ("get", "gateways.gateway.networking.k8s.io", "team-c", "yes"),  # read-only, platform's Gateway
        ("get", "secrets", "team-a", "no"),
    ],
)
def test_can_i(
    cluster: ClusterHandle, teams: dict[str, str], verb: str, resource: str, team: str | None, allowed: str
) -> None:
    where = ["-n", teams[team]] if team else ["-A"]
    out = cluster.kubectl("auth", "can-i", verb, resource, *where, f"--as={SA}", check=False)
    assert out.stdout.strip() == allowed, f"can-i {verb} {resource} {where}: {out.stdout} {out.stderr}"


def test_the_operator_rolls_out_in_its_namespaces_and_nowhere_else(
    cluster: ClusterHandle, teams: dict[str, str], operator: tuple[subprocess.Popen[bytes], Path]
) -> None:
    proc, log = operator

    class Op:  # what wait_for needs to report a dead operator
        def __init__(self) -> None:
            self.proc = proc

        def output(self) -> str:
            return log.read_text(errors="replace")

    op: Any = Op()
    manifest = json.dumps(model_deployment("scorer"))
    for team in ("team-b", "team-c"):
        cluster.kubectl("apply", "-n", teams[team], "-f", "-", input=manifest)
    done = wait_for(
        cluster, teams["team-b"], "scorer", lambda b: phase(b) == "Promoted", "promoted", operator=op
    )
    assert done["status"]["stable"]["name"]
    time.sleep(3)  # the unwatched one had as long as the watched one, and more
    untouched = get_md(cluster, teams["team-c"], "scorer").get("status") or {}
    assert untouched.get("observedGeneration") == 0  # the CRD's default for an unobserved object
    assert "phase" not in untouched  # never written by the operator
    deployments = cluster.kubectl("get", "deployments", "-n", teams["team-c"], "-o", "name").stdout
    assert deployments.strip() == ""
    output = op.output()
    assert denials(output) == [], output[-4000:]
