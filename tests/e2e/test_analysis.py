"""Analysis decides: a failing metric rolls the canary back, a passing one promotes it; drifting live data
rolls back within one interval, stable data is promoted. Metrics go through the operator's real Prometheus
HTTP client to a Prometheus-API server the test controls; drift reads real Parquet files."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from localkube.testing import ClusterHandle
from tests.e2e.conftest import StartOperator, apply, phase, request_action, route_weights, status_of, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster


class PromAPI:
    """Answers /api/v1/query with an instant vector for queries naming a revision: ``latency[revision]`` for
    histogram quantiles, ``values[revision]`` for anything else."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.latency: dict[str, float] = {}
        self.queries: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query).get("query", [""])[0]
                api.queries.append(query)
                m = re.search(r'revision="([^"]+)"', query)
                table = api.latency if "histogram_quantile" in query else api.values
                value = table.get(m.group(1)) if m else None
                result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
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
def prom() -> Iterator[PromAPI]:
    api = PromAPI()
    yield api
    api.server.shutdown()
    api.server.server_close()


def _canary(analysis: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "strategy": {
            "type": "canary",
            "canary": {"steps": [{"weight": 20, "analysis": True}, {"weight": 100}]},
        },
        "analysis": analysis,
        **extra,
    }


def _v2(**spec: Any) -> dict[str, Any]:
    strategy = spec.pop("strategy")
    return model_deployment(
        "m", image="registry.example/budget-optimizer:2.0.0", version="2.0.0", strategy=strategy, **spec
    )


def _first(cluster: ClusterHandle, ns: str, op: Any, **spec: Any) -> str:
    strategy = spec.pop("strategy")
    apply(cluster, ns, model_deployment("m", strategy=strategy, **spec))
    body = wait_for(
        cluster, ns, "m", lambda b: phase(b) == "Promoted", "first revision promoted", operator=op
    )
    stable: str = body["status"]["stable"]["name"]
    return stable


ERROR_RATE = {"name": "error-rate", "provider": "prometheus", "builtin": "errorRate", "max": 0.05}


@pytest.mark.parametrize(("error_rate", "outcome"), [(0.3, "RolledBack"), (0.01, "Promoted")])
def test_error_rate_decides(
    cluster: ClusterHandle,
    namespace: str,
    start_operator: StartOperator,
    prom: PromAPI,
    error_rate: float,
    outcome: str,
) -> None:
    op = start_operator(prometheus=(prom.url,))
    spec = _canary({"interval": "1s", "prometheusAddress": prom.url, "metrics": [ERROR_RATE]})
    stable = _first(cluster, namespace, op, **dict(spec))
    apply(cluster, namespace, _v2(**dict(spec)))
    cand = wait_for(
        cluster, namespace, "m", lambda b: bool(status_of(b).get("candidate")), "candidate", operator=op
    )
    prom.values[cand["status"]["candidate"]["name"]] = error_rate
    done = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: (
            phase(b) == outcome
            and status_of(b).get("stable", {}).get("name") != (stable if outcome == "Promoted" else None)
        ),
        outcome,
        operator=op,
    )
    metrics = done["status"]["lastAnalysis"]["metrics"]
    assert metrics[0]["name"] == "error-rate"
    assert metrics[0]["value"] == pytest.approx(error_rate)
    if outcome == "RolledBack":
        assert metrics[0]["verdict"] == "Failed"
        assert "error-rate = 0.3 is above the maximum 0.05" in done["status"]["message"]
        assert route_weights(cluster, namespace, "m") == {stable: 100}
    else:
        assert route_weights(cluster, namespace, "m") == {done["status"]["stable"]["name"]: 100}
    assert any('revision="' in q and "5.." in q for q in prom.queries)


def _write(path: Path, columns: dict[str, Any]) -> str:
    pq.write_table(pa.table(columns), path)
    return f"file://{path}"


@pytest.mark.parametrize("drifts", [True, False])
def test_drift_decides(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator, tmp_path: Path, drifts: bool
) -> None:
    rng = np.random.default_rng(7)
    n = 4000
    reference = {
        "spend": rng.normal(100, 10, n),
        "channel": rng.choice(["search", "social", "tv"], n, p=[0.5, 0.3, 0.2]),
    }
    live = {
        "spend": rng.normal(130 if drifts else 100, 10, n),
        "channel": rng.choice(
            ["search", "social", "tv"], n, p=[0.2, 0.3, 0.5] if drifts else [0.5, 0.3, 0.2]
        ),
    }
    drift = {
        "interval": "1s",
        "reference": {"uri": _write(tmp_path / "reference.parquet", reference), "format": "parquet"},
        "live": {"uri": _write(tmp_path / "live.parquet", live), "format": "parquet", "window": "1h"},
        "numerical": [{"name": "spend", "test": "wasserstein"}],
        "categorical": [{"name": "channel", "test": "jensenShannon"}],
        "confirmations": 1,
    }
    op = start_operator()
    spec = _canary({"interval": "1s", "drift": drift})
    stable = _first(cluster, namespace, op, **dict(spec))
    apply(cluster, namespace, _v2(**dict(spec)))
    want = "RolledBack" if drifts else "Promoted"
    done = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: phase(b) == want and (drifts or status_of(b)["stable"]["name"] != stable),
        want,
        operator=op,
    )
    features = {f["feature"]: f for f in done["status"]["lastAnalysis"]["drift"]}
    assert set(features) == {"spend", "channel"}
    assert features["spend"]["test"] == "wasserstein"
    if drifts:
        assert done["status"]["lastAnalysis"]["driftDetected"] is True
        assert features["spend"]["verdict"] == "Failed"
        assert features["spend"]["distance"] > 0.1
        assert route_weights(cluster, namespace, "m") == {stable: 100}
        events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
        assert any("spend" in e["message"] for e in events if e["type"] == "Warning")
    else:
        assert features["spend"]["verdict"] == "Successful"


def _route(cluster: ClusterHandle, namespace: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(
        cluster.kubectl("get", "httproute", "m", "-n", namespace, "-o", "json").stdout
    )
    return out


@pytest.mark.parametrize(("candidate_latency", "outcome"), [(0.105, "Promoted"), (0.2, "RolledBack")])
def test_shadow_mirrors_then_promotes_or_discards(
    cluster: ClusterHandle,
    namespace: str,
    start_operator: StartOperator,
    prom: PromAPI,
    candidate_latency: float,
    outcome: str,
) -> None:
    op = start_operator(prometheus=(prom.url,))
    spec = {
        "strategy": {
            "type": "shadow",
            "shadow": {
                "mirrorPercent": 30,
                "duration": "1m",
                "promotion": "manual",
                "comparison": {"latency": {"percentile": 99, "maxIncreasePercent": 20}},
            },
        },
        "analysis": {"interval": "1s", "prometheusAddress": prom.url, "metrics": [ERROR_RATE]},
    }
    stable = _first(cluster, namespace, op, **dict(spec))
    prom.latency[stable], prom.values[stable] = 0.1, 0.0
    apply(cluster, namespace, _v2(**dict(spec)))
    mirroring = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: bool((status_of(b).get("traffic") or {}).get("mirror")),
        "mirroring",
        operator=op,
    )
    candidate = mirroring["status"]["candidate"]["name"]
    prom.latency[candidate], prom.values[candidate] = candidate_latency, 0.0
    rule = _route(cluster, namespace)["spec"]["rules"][0]
    assert rule["filters"][0]["requestMirror"]["backendRef"]["name"] == candidate
    assert rule["filters"][0]["requestMirror"]["percent"] == 30
    assert route_weights(cluster, namespace, "m") == {stable: 100}  # mirrored, never served

    def judged(b: dict[str, Any]) -> bool:
        last = status_of(b).get("lastAnalysis") or {}
        return last.get("revision") == candidate and last.get("verdict") in ("Successful", "Failed")

    judged_body = wait_for(cluster, namespace, "m", judged, "an analysis of the candidate", operator=op)
    shadow = next(
        m for m in judged_body["status"]["lastAnalysis"]["metrics"] if m["name"] == "shadow.latencyP99"
    )
    assert shadow["value"] == pytest.approx(candidate_latency)
    if outcome == "Promoted":
        assert shadow["verdict"] == "Successful"
        for _ in range(2):  # end the mirrored trial, then the manual gate that keeps mirroring
            rid = request_action(cluster, namespace, "m", "promote")
            wait_for(
                cluster,
                namespace,
                "m",
                lambda b, r=rid: status_of(b).get("lastHandledRequestId") == r,
                "promote handled",
                operator=op,
            )
    done = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: (
            phase(b) == outcome and (outcome != "Promoted" or status_of(b)["stable"]["name"] == candidate)
        ),
        outcome,
        operator=op,
    )
    assert "filters" not in _route(cluster, namespace)["spec"]["rules"][0]
    expected = candidate if outcome == "Promoted" else stable
    assert route_weights(cluster, namespace, "m") == {expected: 100}
    if outcome == "RolledBack":
        assert "shadow.latencyP99 = 0.2s is more than 20% above stable's 0.1s" in done["status"]["message"]


def test_blue_green_previews_then_switches_at_once(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    spec = {
        "strategy": {
            "type": "blueGreen",
            "blueGreen": {
                "previewDuration": "2s",
                "analysis": False,
                "promotion": "auto",
                "scaleDownDelay": "1s",
            },
        }
    }
    stable = _first(cluster, namespace, op, **dict(spec))
    apply(cluster, namespace, _v2(**dict(spec)))
    weights_seen: list[dict[str, int]] = []

    def switched(b: dict[str, Any]) -> bool:
        weights_seen.append(dict((status_of(b).get("traffic") or {}).get("weights") or {}))
        return phase(b) == "Promoted" and status_of(b)["stable"]["name"] != stable

    done = wait_for(cluster, namespace, "m", switched, "blue-green switch", operator=op)
    green = done["status"]["stable"]["name"]
    # never a split: traffic was all blue, then all green
    assert all(set(w.values()) <= {0, 100} for w in weights_seen)
    assert route_weights(cluster, namespace, "m") == {green: 100}

    def blue_gone(_: dict[str, Any]) -> bool:
        names = cluster.kubectl("get", "deploy", "-n", namespace, "-o", "name").stdout.split()
        return names == [f"deployment.apps/{green}"]

    wait_for(cluster, namespace, "m", blue_gone, "old colour removed after the delay", operator=op)
