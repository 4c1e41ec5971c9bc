"""`kubectl mdep` as a kubectl plugin against the real control plane: one-line errors with their exit codes.

Each failure prints exactly one line on stderr that names the problem and the fix, no traceback, and exits 1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from localkube.testing import ClusterHandle
from tests.conftest import ROOT
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster


def mdep(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run(["kubectl", "mdep", *args], capture_output=True, text=True, env=env, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error, got {len(lines)} lines:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released; nothing here binds it again)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_missing_resource_names_it_the_namespace_and_how_to_list(
    cluster: ClusterHandle, crds: list[str], namespace: str
) -> None:
    for command in ("status", "history", "promote", "abort"):
        proc = mdep(cluster.env, command, "no-such-model", "-n", namespace)
        assert proc.returncode == 1, (command, proc.returncode, proc.stdout, proc.stderr)
        assert one_line_error(proc) == (
            f'error: modeldeployment "no-such-model" not found in namespace "{namespace}"; '
            f"list them with: kubectl mdep list -n {namespace} (or -A for all namespaces)"
        )


def test_empty_namespace_is_not_an_error(cluster: ClusterHandle, crds: list[str], namespace: str) -> None:
    proc = mdep(cluster.env, "list", "-n", namespace)
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "No ModelDeployments found.", "")


def test_unreachable_server_is_no_cluster_access_naming_kubeconfig(
    cluster: ClusterHandle, tmp_path: Path
) -> None:
    kubeconfig = yaml.safe_load(cluster.kubeconfig.read_text())
    server = f"https://127.0.0.1:{closed_port()}"
    kubeconfig["clusters"][0]["cluster"]["server"] = server
    path = tmp_path / "unreachable.kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    env = {**cluster.env, "KUBECONFIG": str(path)}
    for args in (("list",), ("status", "anything", "-n", "default"), ("promote", "anything")):
        proc = mdep(env, *args)
        assert proc.returncode == 1, (args, proc.returncode, proc.stderr)
        line = one_line_error(proc)
        assert line.startswith(
            f"error: no cluster access: {server} from kubeconfig {path} is unreachable ("
        ), line
        assert line.endswith("); check KUBECONFIG and that the cluster is up"), line


def test_unreadable_kubeconfig_is_no_cluster_access_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.kubeconfig"
    proc = mdep({**os.environ, "KUBECONFIG": str(missing)}, "list")
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    line = one_line_error(proc)
    assert line.startswith(f"error: no cluster access: cannot load {missing} ("), line
    assert line.endswith("); set KUBECONFIG or pass --kubeconfig"), line


def _token_kubeconfig(cluster: ClusterHandle, namespace: str, path: Path) -> Path:
    """A kubeconfig for a fresh service account that no role grants anything."""
    cluster.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    token = cluster.kubectl("create", "token", "nobody", "-n", namespace, "--duration=10m").stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": admin["clusters"][0]["cluster"]}],
                "users": [{"name": "nobody", "user": {"token": token}}],
                "contexts": [{"name": "nobody", "context": {"cluster": "c", "user": "nobody"}}],
                "current-context": "nobody",
            }
        )
    )
    return path


def test_forbidden_names_the_kubeconfig_and_rbac(
    cluster: ClusterHandle, crds: list[str], namespace: str, tmp_path: Path
) -> None:
    path = _token_kubeconfig(cluster, namespace, tmp_path / "nobody.kubeconfig")
    proc = mdep({**cluster.env, "KUBECONFIG": str(path)}, "status", "anything", "-n", namespace)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert one_line_error(proc) == (
        "error: forbidden: get modeldeployment anything was refused (403 Forbidden) for the user in "
        f"kubeconfig {path}; check your RBAC (kubectl auth can-i)"
    )


def _create_with_status(cluster: ClusterHandle, namespace: str, status: dict[str, Any]) -> str:
    body = model_deployment("scorer")
    body["spec"]["strategy"] = {
        "type": "canary",
        "canary": {"steps": [{"weight": 20}, {"weight": 50, "pause": {"duration": "1m"}}, {"weight": 100}]},
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(body))
    cluster.kubectl(
        "patch", "modeldeployment", "scorer", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip
    return "scorer"


def test_status_of_a_promoted_rollout_on_the_cluster_shows_every_step_done(
    cluster: ClusterHandle, crds: list[str], namespace: str
) -> None:
    stable = {"name": "scorer-bbbb", "specHash": "b", "modelVersion": "1.0.0"}
    name = _create_with_status(
        cluster,
        namespace,
        {"phase": "Promoted", "stable": stable, "traffic": {"weights": {"scorer-bbbb": 100}}},
    )
    proc = mdep(cluster.env, "status", name, "-n", namespace)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    i = lines.index("Steps (canary): all done, revision scorer-bbbb promoted")
    assert lines[i + 1 : i + 4] == [
        "  [x] 1. weight 20%",
        "  [x] 2. weight 50%, pause 1m",
        "  [x] 3. weight 100%",
    ], proc.stdout


def test_status_of_a_rolled_back_rollout_on_the_cluster_shows_where_it_stopped(
    cluster: ClusterHandle, crds: list[str], namespace: str
) -> None:
    status = {
        "phase": "RolledBack",
        "stable": {"name": "scorer-aaaa", "specHash": "a", "modelVersion": "1.0.0"},
        "traffic": {"weights": {"scorer-aaaa": 100}},
        "failedRevisions": [
            {"specHash": "b", "name": "scorer-bbbb", "reason": "AnalysisFailed", "message": "error-rate 0.3"}
        ],
        "lastAnalysis": {"revision": "scorer-bbbb", "stepIndex": 1, "verdict": "Failed"},
    }
    name = _create_with_status(cluster, namespace, status)
    proc = mdep(cluster.env, "status", name, "-n", namespace)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    i = lines.index("Steps (canary): revision scorer-bbbb stopped at step 2/3")
    assert lines[i + 1 : i + 4] == [
        "  [x] 1. weight 20%",
        "  [!] 2. weight 50%, pause 1m   <- stopped here: AnalysisFailed: error-rate 0.3",
        "  [ ] 3. weight 100%",
    ], proc.stdout
