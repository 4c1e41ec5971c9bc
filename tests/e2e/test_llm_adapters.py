"""Adapters of one serverless LLM endpoint, end to end: two ModelDeployments (one per adapter) on the real
control plane, the operator process, and traffic from a client through an OpenAI-compatible gateway that
honours ``adapter_id`` by the route tables the operator writes. A new version of one adapter whose error rate
rises is rolled back, while the other adapter's new version is promoted and serves throughout.

What is real: the apiserver (CRD schema and CEL rules), the operator process (kopf, work queue, policy gate,
status subresource writes, Events), its analysis through its Prometheus HTTP client, and the route-table
format and compare-and-swap it writes. What stands in for Azure (see tests/e2e/llm_operator.py): the
serverless endpoint and registry (the SDK fakes) and API Management (the test's gateway).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localkube.testing import ClusterHandle
from tests.conftest import ROOT
from tests.e2e.conftest import OperatorProcess, apply, phase, policy_for, status_of, wait_for
from tests.e2e.llm_gateway import LlmGateway

pytestmark = pytest.mark.cluster

SUB = "00000000-0000-0000-0000-000000000001"
ENDPOINT = "llama-31-8b"
REGISTRY = "kdap-models"


def _adapter(name: str, version: str, prometheus: str) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name},
        "spec": {
            "target": {
                "type": "serverless",
                "serverless": {
                    "subscriptionId": SUB,
                    "resourceGroup": "kdap-dev-rg",
                    "workspace": "kdap-dev-mlw",
                    "endpointName": ENDPOINT,
                    "adapter": name,
                    "gateway": {"resourceGroup": "kdap-dev-rg", "service": "kdap-dev-apim"},
                },
            },
            "model": {
                "name": name,
                "version": f"1.{version}.0",
                "registry": f"azureml://registries/{REGISTRY}/models/{name}-lora/versions/{version}",
            },
            "strategy": {
                "type": "canary",
                "canary": {
                    "steps": [{"weight": 30, "pause": {"duration": "4s"}, "analysis": True}, {"weight": 100}]
                },
            },
            "analysis": {
                "interval": "1s",
                "prometheusAddress": prometheus,
                "metrics": [
                    {
                        "name": "error-rate",
                        "provider": "prometheus",
                        "query": 'llm_error_ratio{adapter="$adapter",revision="$revision"}',
                        "max": 0.05,
                        "inconclusiveLimit": 10,
                    },
                    {
                        "name": "completion-tokens",
                        "provider": "prometheus",
                        "query": 'llm_tokens_per_request{revision="$revision"}',
                        "max": 512,
                        "inconclusiveLimit": 10,
                    },
                ],
            },
        },
    }


class Clients:
    """Requests for each adapter, as an application sends them (``extra_body={"adapter_id": ...}``)."""

    def __init__(self, url: str, adapters: tuple[str, ...]) -> None:
        self.url, self.adapters = url, adapters
        self.answers: list[tuple[float, str, int, str]] = []  # (time, adapter, status, revision)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for adapter in self.adapters:
                body = {
                    "model": "Meta-Llama-3.1-8B-Instruct",
                    "messages": [{"role": "user", "content": "hi"}],
                    "adapter_id": adapter,
                }
                request = urllib.request.Request(
                    f"{self.url}/v1/chat/completions",
                    json.dumps(body).encode(),
                    {"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        status, revision = answer.status, answer.headers.get("x-kdap-adapter-revision", "")
                except urllib.error.HTTPError as exc:
                    status, revision = exc.code, exc.headers.get("x-kdap-adapter-revision", "")
                self.answers.append((time.monotonic(), adapter, status, revision))
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def gateway_llm() -> Iterator[LlmGateway]:
    gw = LlmGateway(ENDPOINT)
    for adapter in ("coding", "creative"):
        gw.declare(adapter)
    yield gw
    gw.close()


def _start_operator(
    cluster: ClusterHandle, namespace: str, tmp_path: Path, gw: LlmGateway
) -> OperatorProcess:
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
    grants = {
        "workspaces": [{"subscriptionId": SUB, "resourceGroup": "kdap-dev-rg", "name": "kdap-dev-mlw"}],
        "registries": [REGISTRY],
        "gateways": [{"subscriptionId": SUB, "resourceGroup": "kdap-dev-rg", "service": "kdap-dev-apim"}],
        "metrics": {"prometheus": [gw.url]},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(policy_for(namespace, **grants)))
    world = {
        "endpoints": [ENDPOINT],
        "registry": REGISTRY,
        "adapters": [[f"{a}-lora", v] for a in ("coding", "creative") for v in ("3", "4")],
        "gateway": gw.url,
    }
    (tmp_path / "platform.json").write_text(json.dumps(world))
    log = tmp_path / "operator.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.e2e.llm_operator",
            str(tmp_path / "platform.json"),
            "--namespace",
            namespace,
            "--liveness",
            "",
            "--metrics-port=0",
            "--metrics-addr=127.0.0.1",
            "--log-format=text",
            "--peering-settle=0.5",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**cluster.env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )
    return OperatorProcess(proc, log)


def test_a_failing_adapter_version_rolls_back_while_the_other_adapter_is_promoted(
    cluster: ClusterHandle,
    crds: list[str],
    peering: None,
    namespace: str,
    tmp_path: Path,
    gateway_llm: LlmGateway,
) -> None:
    gw = gateway_llm
    op = _start_operator(cluster, namespace, tmp_path, gw)
    clients: Clients | None = None
    try:
        for adapter in ("coding", "creative"):
            apply(cluster, namespace, _adapter(adapter, "3", gw.url))
        promoted = {
            a: wait_for(cluster, namespace, a, lambda b: phase(b) == "Promoted", "v3 promoted", 60, op)
            for a in ("coding", "creative")
        }
        v3 = status_of(promoted["creative"])["stable"]["name"]
        assert [(a, w) for _, a, w in gw.routes("coding")[1]] == [("coding-lora:3", 100)]
        clients = Clients(gw.url, ("coding", "creative"))
        gw.failing.add("coding-lora:4")  # every third answer of the new coding version is a 500
        started = time.monotonic()
        for adapter in ("coding", "creative"):
            apply(cluster, namespace, _adapter(adapter, "4", gw.url))
        coding = wait_for(
            cluster, namespace, "coding", lambda b: phase(b) == "RolledBack", "coding rolled back", 60, op
        )
        creative = wait_for(
            cluster,
            namespace,
            "creative",
            lambda b: phase(b) == "Promoted" and status_of(b)["stable"]["name"] != v3,
            "creative v4 promoted",
            60,
            op,
        )
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # requests after the rollback
        clients.stop()
    finally:
        if clients is not None:
            clients.stop()
        op.stop(signal.SIGKILL)

    # The operator's record: the candidate failed on its measured error rate, stable serves.
    status = status_of(coding)
    failed = status["failedRevisions"]
    assert [f["reason"] for f in failed] == ["AnalysisFailed"]
    errors = next(m for m in status["lastAnalysis"]["metrics"] if m["name"] == "error-rate")
    assert 0.2 < float(errors["value"]) < 0.5  # every third request failed
    # The gateway: coding back on version 3 alone, creative on version 4 alone.
    assert [(a, w) for _, a, w in gw.routes("coding")[1] if w] == [("coding-lora:3", 100)]
    assert [(a, w) for _, a, w in gw.routes("creative")[1] if w] == [("creative-lora:4", 100)]
    assert gw.routes("coding")[0] == f"{namespace}/coding"
    # The clients: creative never failed; coding's version 4 took live traffic, then none.
    assert [s for _, a, s, _ in clients.answers if a == "creative"].count(200) == sum(
        1 for _, a, _, _ in clients.answers if a == "creative"
    )
    coding_revisions = {r for _, a, _, r in clients.answers if a == "coding"}
    assert failed[0]["name"] in coding_revisions
    served = [a for asked, a, _ in gw.served if asked == "creative"]
    assert "creative-lora:4" in served
    assert "creative-lora:3" in served
    last = [(a, s) for asked, a, s in gw.served[-20:] if asked == "coding"]
    assert last
    assert all(a == "coding-lora:3" and s == 200 for a, s in last)
    print(
        f"adapter rollout e2e: rollback and promotion within {elapsed:.1f} s; {len(clients.answers)} requests"
    )
    assert creative["status"]["phase"] == "Promoted"
