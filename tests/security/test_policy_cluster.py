"""ModelDeploymentPolicy end to end: the operator process on the real control plane. A namespace without a
grant gets SpecValid=False naming the field and the rule, an Event, no Deployment and no metric query;
labelling the namespace into a policy lets it roll out; revoking the grant stops new I/O. The apiserver
refuses malformed policies with the same words as the models."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from localkube.testing import ClusterHandle
from tests.e2e.conftest import OperatorProcess, StartOperator, apply, get_md, phase, policy_for, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster


class Prometheus:
    """Answers every instant query with 0 (a healthy error rate) and counts the queries."""

    def __init__(self) -> None:
        self.queries = 0
        prom = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                prom.queries += 1
                result = [{"metric": {}, "value": [0, "0"]}]
                body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def prom() -> Iterator[Prometheus]:
    p = Prometheus()
    yield p
    p.server.shutdown()
    p.server.server_close()


def _mdep(prom: Prometheus, version: str = "1.0.0") -> dict[str, Any]:
    steps = {"type": "canary", "canary": {"steps": [{"weight": 50, "analysis": True}, {"weight": 100}]}}
    metric = {"name": "error-rate", "provider": "prometheus", "builtin": "errorRate", "max": 0.05}
    return model_deployment(
        "guarded",
        image=f"registry.example/budget-optimizer:{version}",
        version=version,
        strategy=steps,
        analysis={"interval": "1s", "prometheusAddress": prom.url, "metrics": [metric]},
    )


def _spec_valid(body: dict[str, Any]) -> dict[str, Any]:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "SpecValid"), {})


def _deployments(cluster: ClusterHandle, namespace: str) -> list[str]:
    out = cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout
    return sorted(d["metadata"]["name"] for d in json.loads(out)["items"])


def _refused(cluster: ClusterHandle, ns: str, op: OperatorProcess, generation: int) -> dict[str, Any]:
    return wait_for(
        cluster, ns, "guarded",
        lambda b: _spec_valid(b).get("reason") == "PolicyDenied"
        and _spec_valid(b).get("observedGeneration") == generation,
        "SpecValid=False (PolicyDenied)", operator=op,
    )  # fmt: skip


def test_no_grant_no_io_then_grant_rolls_out_then_revoke_stops_new_io(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator, prom: Prometheus
) -> None:
    op = start_operator()  # the fixture's policy grants this namespace its data files only
    apply(cluster, namespace, _mdep(prom))
    body = _refused(cluster, namespace, op, 1)
    assert _spec_valid(body)["status"] == "False"
    assert _spec_valid(body)["message"] == (
        f'spec.analysis.prometheusAddress: Prometheus endpoint "{prom.url}" is not granted to namespace '
        f'"{namespace}" by any ModelDeploymentPolicy (granted: none)'
    )
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    assert any(e["reason"] == "PolicyDenied" and prom.url in e["message"] for e in events)
    time.sleep(2)  # a few analysis intervals: still nothing
    assert _deployments(cluster, namespace) == []
    assert prom.queries == 0
    assert phase(get_md(cluster, namespace, "guarded")) is None

    # The platform grants a team label; labelling the namespace brings it in (both are watched).
    team = f"team-{namespace[-6:]}"
    grant = policy_for(namespace, name=f"grant-{namespace}", metrics={"prometheus": [prom.url]})
    grant["spec"]["namespaceSelector"] = {"matchLabels": {"kdap.io/team": team}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(grant))
    try:
        time.sleep(1.5)
        assert prom.queries == 0  # the policy selects no namespace yet
        cluster.kubectl("label", "namespace", namespace, f"kdap.io/team={team}")
        first = wait_for(
            cluster, namespace, "guarded", lambda b: phase(b) == "Promoted", "Promoted", operator=op
        )
        assert _spec_valid(first)["status"] == "True"
        assert len(_deployments(cluster, namespace)) == 1
        # the next version is analysed: the granted Prometheus is queried
        apply(cluster, namespace, _mdep(prom, "1.1.0"))
        stable = first["status"]["stable"]["name"]
        wait_for(
            cluster, namespace, "guarded",
            lambda b: phase(b) == "Promoted" and b["status"]["stable"]["name"] != stable,
            "1.1.0 promoted after analysis", operator=op,
        )  # fmt: skip
        assert prom.queries > 0

        # Revoked: the next version is refused before any I/O.
        cluster.kubectl("delete", "modeldeploymentpolicy", f"grant-{namespace}")
        apply(cluster, namespace, _mdep(prom, "1.2.0"))
        _refused(cluster, namespace, op, 3)
        queries, before = prom.queries, _deployments(cluster, namespace)
        time.sleep(2)
        assert prom.queries == queries
        assert _deployments(cluster, namespace) == before  # nothing created or deleted for 1.2.0
    finally:
        cluster.kubectl("delete", "modeldeploymentpolicy", f"grant-{namespace}", "--ignore-not-found")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In"}]}},
            "values must be non-empty for In and NotIn and empty for Exists and DoesNotExist",
        ),
        (
            {
                "namespaceSelector": {},
                "storage": [{"account": "acct1", "containers": ["x"], "pathPrefixes": ["a/.."]}],
            },
            "spec.storage[0].pathPrefixes[0]: Invalid value",
        ),
        (
            {"namespaceSelector": {}, "metrics": {"prometheus": ["http://user@prom:9090"]}},
            "spec.metrics.prometheus[0]: Invalid value",
        ),
        ({"storage": []}, "spec.namespaceSelector: Required value"),
    ],
)
def test_the_apiserver_refuses_malformed_policies(
    cluster: ClusterHandle, crds: list[str], spec: dict[str, Any], message: str
) -> None:
    body = {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeploymentPolicy",
        "metadata": {"name": "malformed"},
        "spec": spec,
    }
    out = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(body), check=False)
    assert out.returncode != 0
    assert message in out.stderr, out.stderr


def test_the_apiserver_accepts_the_example_policy(cluster: ClusterHandle, crds: list[str]) -> None:
    from tests.conftest import ROOT

    out = cluster.kubectl(
        "apply",
        "--dry-run=server",
        "-f",
        str(ROOT / "examples" / "model-deployment-policy.yaml"),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "modeldeploymentpolicy.mlops.kdap.io/ml-teams-prod created (server dry run)" in out.stdout
