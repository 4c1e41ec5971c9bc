"""Validation before traffic, end to end: the operator process sends real HTTP requests and judges them.

kwok pods run no container, so the test starts a small model server on loopback and points the operator's
validator at it per revision (``--validation-address``, a URL template with the revision's name); without
the flag the validator uses the revision's Service DNS name, which this test checks is a real Service.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from localkube.testing import ClusterHandle
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.kubernetes.backend import KubernetesBackend
from modeldeploy.controller.translate import desired_revision
from modeldeploy.ports import Owner
from tests.conftest import ROOT
from tests.e2e.conftest import StartOperator, apply, phase, route_weights, status_of, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster

VALIDATION = {
    "healthPath": "/healthz",
    "timeout": "5s",
    "requests": [
        {
            "name": "one-campaign",
            "body": json.dumps({"spend": 1200.0, "channel": "search"}),
            "expect": [
                {"path": "$.prediction", "type": "number", "value": 0.42, "tolerance": 0.05},
                {"path": "$.model", "type": "string"},
            ],
        }
    ],
}


class ModelServer:
    """Answers per revision: ``good`` revisions score correctly, any other answers a string prediction."""

    def __init__(self) -> None:
        self.good: set[str] = set()
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.bodies: list[Any] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                server.requests.append(("GET", self.path))
                self._reply({"status": "ok"})

            def do_POST(self) -> None:
                server.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                server.requests.append(("POST", self.path))
                revision = self.path.split("/")[2]
                prediction: Any = 0.43 if revision in server.good else "high"
                self._reply({"prediction": prediction, "model": revision})

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def seen(self, revision: str) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[1].split("/")[2:3] == [revision]]


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    s = ModelServer()
    threading.Thread(target=s.http.serve_forever, daemon=True).start()
    yield s
    s.http.shutdown()
    s.http.server_close()


def _revision(manifest: dict[str, Any]) -> str:
    return desired_revision("budget", ModelDeploymentSpec.model_validate(manifest["spec"])).name


def test_a_revision_failing_validation_never_gets_traffic_and_one_passing_proceeds(
    cluster: ClusterHandle,
    namespace: str,
    start_operator: StartOperator,
    model_server: ModelServer,
    tmp_path: Path,
) -> None:
    # A golden set from a data URI, read through the policy the test namespace is granted (its tmp_path).
    golden = [{"name": "golden-search", "body": json.dumps({"spend": 10.0}), "expect": [{"path": "$.model"}]}]
    (tmp_path / "golden.json").write_text(json.dumps(golden))
    validation = VALIDATION | {"requestsUri": f"file://{tmp_path}/golden.json"}
    op = start_operator(f"--validation-address={model_server.url}/{{namespace}}/{{revision}}")
    steps = {"type": "canary", "canary": {"steps": [{"weight": 20}, {"weight": 100}]}}
    v1, v2, v3 = (
        model_deployment(
            "budget",
            image=f"registry.example/budget-optimizer:{v}",
            version=v,
            strategy=steps,
            validation=validation,
        )
        for v in ("1.0.0", "1.1.0", "1.2.0")
    )
    r1, r2, r3 = _revision(v1), _revision(v2), _revision(v3)
    model_server.good |= {r1, r3}

    t0 = time.monotonic()
    apply(cluster, namespace, v1)
    first = wait_for(
        cluster, namespace, "budget", lambda b: phase(b) == "Promoted", "v1 promoted", operator=op
    )
    t_first = time.monotonic() - t0
    assert status_of(first)["stable"]["validation"]["verdict"] == "Successful"
    assert model_server.seen(r1) == [
        ("GET", f"/{namespace}/{r1}/healthz"),
        ("POST", f"/{namespace}/{r1}/score"),
        ("POST", f"/{namespace}/{r1}/score"),
    ]
    assert model_server.bodies[-1] == {"spend": 10.0}, "the golden set's request was sent"
    # What production would call instead of the override: the revision's own Service, which exists.
    svc = json.loads(cluster.kubectl("get", "service", r1, "-n", namespace, "-o", "json").stdout)
    production = KubernetesBackend(None, None, None).scoring_address(Owner(namespace, "budget", "-"), r1)  # type: ignore[arg-type]
    assert (
        production.base_url
        == f"http://{svc['metadata']['name']}.{namespace}.svc:{svc['spec']['ports'][0]['port']}"
    )

    routed_to_r2: list[dict[str, int]] = []

    def rolled_back(b: dict[str, Any]) -> bool:
        weights = (status_of(b).get("traffic") or {}).get("weights") or {}
        if weights.get(r2):
            routed_to_r2.append(weights)
        return phase(b) == "RolledBack"

    t0 = time.monotonic()
    apply(cluster, namespace, v2)
    failed = wait_for(cluster, namespace, "budget", rolled_back, "v2 failed validation", operator=op)
    t_failed = time.monotonic() - t0
    record = status_of(failed)["failedRevisions"][-1]
    assert (record["name"], record["reason"]) == (r2, "ValidationFailed")
    assert record["message"] == "validation failed: one-campaign: $.prediction is string, expected number"
    assert routed_to_r2 == [], "the failing revision was never given traffic"
    assert route_weights(cluster, namespace, "budget") == {r1: 100}
    assert len(model_server.seen(r2)) == 3, "validated once: a wrong answer is not retried"
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    assert any(e["reason"] == "ValidationFailed" and r2 in e["message"] for e in events)

    t0 = time.monotonic()
    apply(cluster, namespace, v3)
    done = wait_for(
        cluster,
        namespace,
        "budget",
        lambda b: phase(b) == "Promoted" and (status_of(b).get("stable") or {}).get("name") == r3,
        "v3 validated and promoted",
        operator=op,
    )
    t_passed = time.monotonic() - t0
    history = [h["reason"] for h in status_of(done)["history"] if h.get("revision") == r3]
    assert history.index("ValidationPassed") < history.index("StepStarted") < history.index("Promoted")
    assert route_weights(cluster, namespace, "budget") == {r3: 100}
    # People see it too: the versions with their stage and validation, before the transitions.
    env = {**cluster.env, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    cmd = ["kubectl", "mdep", "history", "budget", "-n", namespace]
    lines = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=120, check=True
    ).stdout.splitlines()
    assert lines[0].split() == ["REVISION", "MODEL", "STAGE", "SINCE", "VALIDATION"]
    assert lines[1].split()[:3] == [r3, "1.2.0", "production"]
    assert lines[1].endswith("Successful: 3 checks passed")
    assert lines[2].split()[:4] == [r2, "1.1.0", "failed", "(ValidationFailed)"]
    assert lines[2].endswith(
        "Failed: validation failed: one-campaign: $.prediction is string, expected number"
    )
    print(
        f"\nvalidation e2e: first revision validated+promoted {t_first:.1f}s; failing revision rolled back "
        f"{t_failed:.1f}s; passing revision validated+promoted (20/100 canary) {t_passed:.1f}s"
    )
