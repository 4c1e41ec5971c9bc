"""The operator as a real process against the real control plane: one per test, watching its namespace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localkube.testing import ClusterHandle
from tests.conftest import ROOT


@dataclass
class OperatorProcess:
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def peering(cluster: ClusterHandle) -> None:
    cluster.kubectl("apply", "-f", str(ROOT / "deploy" / "crds" / "kopf-peering.yaml"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/clusterkopfpeerings.kopf.dev"
    )
    cluster.kubectl("apply", "-f", str(ROOT / "deploy" / "peering.yaml"))


StartOperator = Callable[..., OperatorProcess]


def policy_for(namespace: str, name: str | None = None, **grants: Any) -> dict[str, Any]:
    """A ModelDeploymentPolicy selecting exactly ``namespace`` (by the label Kubernetes gives every one)."""
    return {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeploymentPolicy",
        "metadata": {"name": name or f"e2e-{namespace}"},
        "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}, **grants},
    }


@pytest.fixture
def start_operator(
    cluster: ClusterHandle, crds: list[str], peering: None, gateway: str, namespace: str, tmp_path: Path
) -> Iterator[StartOperator]:
    started: list[OperatorProcess] = []
    # A namespaced operator peers through a KopfPeering in its namespace.
    cluster.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(
            {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "modeldeploy"}}
        ),
    )

    def start(
        *extra: str,
        priority: int | None = None,
        settle: float | None = 0.5,
        prometheus: tuple[str, ...] = (),
        notifications: dict[str, Any] | None = None,
    ) -> OperatorProcess:
        """``settle``: the peering handover; short here (one replica per test), None for the default.
        The operator enforces policies as in production: the test's namespace is granted its data files
        (under ``tmp_path``), the ``prometheus`` addresses its analysis queries and the ``notifications``
        grant."""
        grants: dict[str, Any] = {"localPaths": [str(tmp_path)], "metrics": {"prometheus": list(prometheus)}}
        if notifications is not None:
            grants["notifications"] = notifications
        cluster.kubectl("apply", "-f", "-", input=json.dumps(policy_for(namespace, **grants)))
        log = tmp_path / f"operator-{len(started)}.log"
        env = {**cluster.env, "PYTHONUNBUFFERED": "1"}
        if priority is not None:
            env["MODELDEPLOY_PEERING_PRIORITY"] = str(priority)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modeldeploy",
                "operator",
                "--namespace",
                namespace,
                "--liveness",
                "",
                "--metrics-port=0",
                "--metrics-addr=127.0.0.1",
                "--log-format=text",
                f"--data-root={tmp_path}",  # the tests' data files live there
                *([f"--peering-settle={settle}"] if settle is not None else []),
                *extra,
            ],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        op = OperatorProcess(proc, log)
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop(signal.SIGKILL)
    cluster.kubectl("delete", "modeldeploymentpolicy", f"e2e-{namespace}", "--ignore-not-found", check=False)
    if os.environ.get("KDAP_SHOW_OPERATOR_LOGS"):
        for op in started:
            print(op.output())


def get_md(cluster: ClusterHandle, namespace: str, name: str) -> dict[str, Any]:
    out = cluster.kubectl("get", "modeldeployment", name, "-n", namespace, "-o", "json").stdout
    body: dict[str, Any] = json.loads(out)
    return body


def wait_for(
    cluster: ClusterHandle,
    namespace: str,
    name: str,
    check: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 90,
    operator: OperatorProcess | None = None,
) -> dict[str, Any]:
    end = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < end:
        body = get_md(cluster, namespace, name)
        if check(body):
            return body
        if operator is not None and operator.proc.poll() is not None:
            raise AssertionError(
                f"operator exited ({operator.proc.returncode}):\n{operator.output()[-4000:]}"
            )
        time.sleep(0.3)
    logs = operator.output()[-6000:] if operator else ""
    raise AssertionError(
        f"timed out waiting for {what}; status: {json.dumps(body.get('status'), indent=1)}\n{logs}"
    )


def phase(body: dict[str, Any]) -> str | None:
    status: dict[str, Any] = body.get("status") or {}
    return status.get("phase")


def request_action(cluster: ClusterHandle, namespace: str, name: str, action: str) -> str:
    """A manual action the GitOps-safe way: ``status.request`` through the status subresource."""
    import uuid

    rid = uuid.uuid4().hex[:12]
    patch = {"status": {"request": {"action": action, "id": rid}}}
    cluster.kubectl(
        "patch",
        "modeldeployment",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(patch),
    )
    return rid


def apply(cluster: ClusterHandle, namespace: str, manifest: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def status_of(body: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = body.get("status") or {}
    return status


def route_weights(cluster: ClusterHandle, namespace: str, name: str) -> dict[str, int]:
    route = json.loads(cluster.kubectl("get", "httproute", name, "-n", namespace, "-o", "json").stdout)
    return {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"] if b["weight"]}
