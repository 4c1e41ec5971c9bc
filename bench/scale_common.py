"""What the scale bench's phases share: the ModelDeployment it applies, the operator as a measured process
(its own user, so the apiserver counts its requests), and waiting for every object to reach a state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from argo_side import install_counted_identity, metric_sum, proc_status_kb  # noqa: E402
from watchers import DoneWatcher  # noqa: E402

from localkube.certs import client_identity  # noqa: E402
from localkube.cluster import LocalCluster, free_port  # noqa: E402
from tests.conftest import GATEWAY  # noqa: E402

USER = "modeldeploy-bench"
FLOW_SCHEMA = USER  # install_counted_identity names the FlowSchema after the user
STEPS = [
    {"weight": 10, "pause": {"duration": "1s"}},
    {"weight": 50, "pause": {"duration": "1s"}},
    {"weight": 100},
]


def model_deployment(name: str, version: str, strategy: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name},
        "spec": {
            "target": {
                "type": "kubernetes",
                "kubernetes": {
                    "image": f"registry.local/model-server:{version}",
                    "port": 8080,
                    "gateway": {"name": "public", "namespace": "gateways"},
                },
            },
            "model": {
                "name": "scale-model",
                "version": version,
                "artifactUri": f"https://models.example.com/scale/{version}/model.txt",
            },
            "strategy": strategy,
            **extra,
        },
    }


# ---- the operator as a measured process -------------------------------------------------------------


def install(cluster: LocalCluster) -> None:
    for f in sorted((ROOT / "crds").glob("*.yaml")):
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(f))
    cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    cluster.kubectl("create", "namespace", "gateways", check=False)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(GATEWAY))
    install_counted_identity(cluster, USER)  # its requests counted apart, as Argo's are


def requests_counted(cluster: LocalCluster) -> float:
    text = cluster.kubectl("get", "--raw", "/metrics").stdout
    return metric_sum(text, "apiserver_flowcontrol_dispatched_requests_total", flow_schema=FLOW_SCHEMA)


class Operator:
    def __init__(self, cluster: LocalCluster, namespace: str, work: Path, workers: int) -> None:
        # Its own identity (a client certificate: the Python client ignores kubeconfig impersonation), so
        # the FlowSchema counts exactly its requests.
        cert, key = client_identity(cluster.run_dir / "pki", USER)
        config: dict[str, Any] = yaml.safe_load(cluster.kubeconfig.read_text())
        for user in config["users"]:
            user["user"] = {"client-certificate": str(cert), "client-key": str(key)}
        kubeconfig = work / f"operator-{namespace}.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(config))
        self.log = work / f"operator-{namespace}.log"
        self.metrics_port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modeldeploy",
                "operator",
                "-n",
                namespace,
                "--standalone",
                "--liveness",
                "",
                f"--workers={workers}",
                f"--metrics-port={self.metrics_port}",
                "--metrics-addr=127.0.0.1",
                "--log-format=text",
            ],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"},
        )

    def reconciles(self) -> int:
        return self.log.read_text(errors="replace").count("reconciled ")

    def rss_mb(self) -> float:
        return (proc_status_kb(self.proc.pid, "VmRSS") or 0) / 1024

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"operator exited {self.proc.returncode}:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _items(cluster: LocalCluster, kind: str, namespace: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(
        cluster.kubectl("get", kind, "-n", namespace, "-o", "json").stdout
    )["items"]
    return out


def _apply(cluster: LocalCluster, namespace: str, items: list[dict[str, Any]]) -> None:
    for i in range(0, len(items), 250):
        batch = {"apiVersion": "v1", "kind": "List", "items": items[i : i + 250]}
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(batch))


def _wait_each(
    watcher: DoneWatcher,
    n: int,
    predicate: Callable[[dict[str, Any]], bool],
    op: Operator,
    timeout: float,
    start: Callable[[], None],
) -> dict[str, float]:
    """Seconds from just before ``start()`` until each object first satisfied ``predicate`` (by watch)."""
    watcher.expect(predicate)
    start()
    return watcher.wait(n, timeout, op.check)


def promoted_on(version: str) -> Callable[[dict[str, Any]], bool]:
    def check(b: dict[str, Any]) -> bool:
        st = b.get("status") or {}
        return st.get("phase") == "Promoted" and (st.get("stable") or {}).get("modelVersion") == version

    return check
