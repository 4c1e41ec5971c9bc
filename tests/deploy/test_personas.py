"""The people-facing ClusterRoles on a real control plane: each persona, bound by a RoleBinding in one
namespace, may do exactly what its level allows there and nothing elsewhere; a token of each really uses the
CLI's request path (status subresource) or is refused."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from localkube.testing import ClusterHandle
from modeldeploy.cli import main as mdep
from tests.deploy.as_operator import sa_kubeconfig
from tests.deploy.render import render
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster
PERSONAS = ("reader", "deployer", "admin")
MD = "modeldeployments.mlops.kdap.io"


ADMISSION = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


@pytest.fixture(scope="module")
def persona_roles(cluster: ClusterHandle, crds: list[str]) -> list[str]:
    docs = render("base")
    roles = [
        d
        for d in docs
        if d["kind"] == "ClusterRole" and d["metadata"]["name"].startswith("kdap-modeldeploy-")
    ]
    # The admission policy that narrows people's status writes to the request fields ships with the roles.
    policy = [d for d in docs if d["kind"] in ADMISSION]
    assert len(policy) == 2
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(roles + policy))
    return sorted(r["metadata"]["name"] for r in roles)


@pytest.fixture
def bound(cluster: ClusterHandle, persona_roles: list[str], namespace: str) -> str:
    """One ServiceAccount per persona in ``namespace``, bound to its ClusterRole there only."""
    for persona in PERSONAS:
        cluster.kubectl("create", "serviceaccount", persona, "-n", namespace)
        cluster.kubectl(
            "create", "rolebinding", persona, f"--clusterrole=kdap-modeldeploy-{persona}",
            f"--serviceaccount={namespace}:{persona}", "-n", namespace,
        )  # fmt: skip
    return namespace


def test_the_install_ships_the_three_personas(persona_roles: list[str]) -> None:
    assert persona_roles == [f"kdap-modeldeploy-{p}" for p in sorted(PERSONAS)]


# (verb, resource) -> (reader, deployer, admin)
MATRIX = [
    ("get", MD, ("yes", "yes", "yes")),
    ("list", MD, ("yes", "yes", "yes")),
    ("watch", MD, ("yes", "yes", "yes")),
    ("get", f"{MD}/status", ("yes", "yes", "yes")),
    ("list", "events", ("yes", "yes", "yes")),
    ("create", MD, ("no", "yes", "yes")),
    ("update", MD, ("no", "yes", "yes")),
    ("patch", MD, ("no", "yes", "yes")),
    ("patch", f"{MD}/status", ("no", "yes", "yes")),  # manual requests: kubectl mdep promote|abort|...
    ("rewrite", f"{MD}/status", ("no", "no", "yes")),  # any status field (the admission policy's verb)
    ("update", f"{MD}/status", ("no", "no", "yes")),
    ("delete", MD, ("no", "no", "yes")),
    ("deletecollection", MD, ("no", "no", "yes")),
    ("create", "events", ("no", "no", "no")),
    ("get", "secrets", ("no", "no", "no")),
    ("create", "deployments.apps", ("no", "no", "no")),
    ("patch", "httproutes.gateway.networking.k8s.io", ("no", "no", "no")),
    ("create", "rolebindings.rbac.authorization.k8s.io", ("no", "no", "no")),
]


@pytest.mark.parametrize(("verb", "resource", "expected"), MATRIX)
def test_each_persona_may_do_exactly_its_level(
    cluster: ClusterHandle, bound: str, verb: str, resource: str, expected: tuple[str, str, str]
) -> None:
    # `can-i VERB RESOURCE/NAME` reads what follows the slash as an object's name: a subresource must be
    # passed as one, or "patch .../status" asks about patching the ModelDeployment named "status".
    resource, _, subresource = resource.partition("/")
    got = tuple(
        cluster.kubectl(
            "auth", "can-i", verb, resource, f"--subresource={subresource}", "-n", bound,
            f"--as=system:serviceaccount:{bound}:{persona}", check=False,
        ).stdout.strip()
        for persona in PERSONAS
    )  # fmt: skip
    assert got == expected, f"can-i {verb} {resource} for {PERSONAS}: {got}"


def test_a_rolebinding_confines_every_persona_to_its_namespace(cluster: ClusterHandle, bound: str) -> None:
    for persona in PERSONAS:
        who = f"--as=system:serviceaccount:{bound}:{persona}"
        out = cluster.kubectl("auth", "can-i", "get", MD, "-n", "default", who, check=False)
        assert out.stdout.strip() == "no", persona


def test_tokens_request_actions_only_at_their_level(
    cluster: ClusterHandle, bound: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster.kubectl("apply", "-n", bound, "-f", "-", input=json.dumps(model_deployment("m")))
    # A failed rollout (written as the cluster admin; no operator runs here) is what `retry` is for.
    cluster.kubectl(
        "patch", "modeldeployment", "m", "-n", bound, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"phase": "Failed"}}),
    )  # fmt: skip
    configs = {p: sa_kubeconfig(cluster, p, tmp_path / f"{p}.yaml", bound, "10m") for p in PERSONAS}

    def retry(persona: str) -> int:
        return mdep(["retry", "m", "-n", bound, "--no-wait", "--kubeconfig", str(configs[persona])])

    assert retry("reader") != 0
    assert "forbidden" in capsys.readouterr().err.lower()
    assert retry("deployer") == 0
    status = json.loads(cluster.kubectl("get", "modeldeployment", "m", "-n", bound, "-o", "json").stdout)
    assert status["status"]["request"]["action"] == "retry"
    assert status["status"]["phase"] == "Failed"  # only the request was written
    # The deployer's token may not delete the model; the admin's may.
    for persona, allowed in (("deployer", False), ("admin", True)):
        out = subprocess.run(
            ["kubectl", f"--kubeconfig={configs[persona]}", "delete", "modeldeployment", "m", "-n", bound,
             "--wait=false"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert (out.returncode == 0) is allowed, f"{persona}: {out.stderr}"


def _patch_status(config: Path, namespace: str, status: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", f"--kubeconfig={config}", "patch", "modeldeployment", "m", "-n", namespace,
         "--subresource=status", "--type=merge", "-p", json.dumps({"status": status})],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_a_deployer_writes_only_the_request_fields_of_the_status(
    cluster: ClusterHandle, bound: str, tmp_path: Path
) -> None:
    cluster.kubectl("apply", "-n", bound, "-f", "-", input=json.dumps(model_deployment("m")))
    cluster.kubectl(
        "patch", "modeldeployment", "m", "-n", bound, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"phase": "Failed", "message": "rollout failed"}}),
    )  # fmt: skip
    deployer = sa_kubeconfig(cluster, "deployer", tmp_path / "deployer.yaml", bound, "10m")
    forged = {"phase": "Promoted", "message": "looks fine"}
    # The policy and its binding take effect shortly after they are created.
    deadline = time.monotonic() + 30
    while (out := _patch_status(deployer, bound, forged)).returncode == 0 and time.monotonic() < deadline:
        cluster.kubectl(
            "patch", "modeldeployment", "m", "-n", bound, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": {"phase": "Failed", "message": "rollout failed"}}),
        )  # fmt: skip
        time.sleep(0.5)
    assert out.returncode != 0
    assert (
        "ValidatingAdmissionPolicy 'kdap-modeldeploy-status-requests' with binding "
        "'kdap-modeldeploy-status-requests' denied request: only status.request and status.batch.runRequest "
        "may be written without the rewrite verb" in out.stderr
    ), out.stderr
    status = json.loads(cluster.kubectl("get", "modeldeployment", "m", "-n", bound, "-o", "json").stdout)
    assert status["status"]["phase"] == "Failed"
    # The request fields pass: `kubectl mdep` actions and batch run requests.
    request = {"action": "promote", "id": "r1", "requestedAt": "2026-11-30T12:00:00Z"}
    assert _patch_status(deployer, bound, {"request": request}).returncode == 0
    run = {"runRequest": {"id": "b1", "requestedAt": "2026-11-30T12:00:00Z"}}
    assert _patch_status(deployer, bound, {"batch": run}).returncode == 0
    done = json.loads(cluster.kubectl("get", "modeldeployment", "m", "-n", bound, "-o", "json").stdout)
    assert done["status"]["request"]["action"] == "promote"
    assert done["status"]["batch"]["runRequest"]["id"] == "b1"
    assert (done["status"]["phase"], done["status"]["message"]) == ("Failed", "rollout failed")
    # Anything beside them is refused, even in the same patch; the admin persona may repair the status.
    mixed = _patch_status(deployer, bound, {"request": {**request, "id": "r2"}, "phase": "Promoted"})
    assert mixed.returncode != 0
    admin = sa_kubeconfig(cluster, "admin", tmp_path / "admin.yaml", bound, "10m")
    fixed = _patch_status(admin, bound, {"phase": "Progressing", "message": "repaired"})
    assert fixed.returncode == 0, fixed.stderr
