"""Operator behaviour end to end: manual actions, supersede, bad input, a killed operator, deletion."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest

from localkube.cluster import NEVER_READY_TAG
from localkube.testing import ClusterHandle
from tests.e2e.conftest import (
    StartOperator,
    apply,
    phase,
    request_action,
    route_weights,
    status_of,
    wait_for,
)
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster

GATED = {
    "type": "canary",
    "canary": {"steps": [{"weight": 10, "pause": {}}, {"weight": 50}, {"weight": 100}]},
}


def _promoted_first(cluster: ClusterHandle, ns: str, op: Any, strategy: dict[str, Any] | None = None) -> str:
    apply(cluster, ns, model_deployment("m", strategy=strategy))
    body = wait_for(
        cluster, ns, "m", lambda b: phase(b) == "Promoted", "first revision promoted", operator=op
    )
    stable: str = body["status"]["stable"]["name"]
    return stable


def _v2(strategy: dict[str, Any] | None = None, tag: str = "2.0.0", **extra: Any) -> dict[str, Any]:
    return model_deployment(
        "m", image=f"registry.example/budget-optimizer:{tag}", version="2.0.0", strategy=strategy, **extra
    )


def _handled(rid: str) -> Any:
    return lambda b: status_of(b).get("lastHandledRequestId") == rid


def test_manual_gate_promote_abort_and_retry(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    stable = _promoted_first(cluster, namespace, op, GATED)
    apply(cluster, namespace, _v2(GATED))
    gated = wait_for(
        cluster, namespace, "m", lambda b: phase(b) == "Paused", "the 10% manual gate", operator=op
    )
    candidate = gated["status"]["candidate"]["name"]
    assert route_weights(cluster, namespace, "m") == {stable: 90, candidate: 10}
    assert gated["status"]["traffic"]["candidateWeight"] == 10
    row = cluster.kubectl("get", "mdep", "m", "-n", namespace, "--no-headers").stdout.split()
    assert row[1:7] == ["Paused", "False", stable, "1.0.0", candidate, "10"]  # Ready: a gate is not done

    rid = request_action(cluster, namespace, "m", "abort")
    aborted = wait_for(cluster, namespace, "m", lambda b: phase(b) == "Degraded", "abort", operator=op)
    assert aborted["status"]["lastHandledRequestId"] == rid
    assert f"Git holds revision {candidate} which was aborted" in aborted["status"]["message"]
    assert route_weights(cluster, namespace, "m") == {stable: 100}

    request_action(cluster, namespace, "m", "retry")
    wait_for(cluster, namespace, "m", lambda b: phase(b) == "Paused", "gate again after retry", operator=op)
    rid = request_action(cluster, namespace, "m", "promote")
    done = wait_for(
        cluster, namespace, "m", lambda b: phase(b) == "Promoted", "promoted past the gate", operator=op
    )
    assert done["status"]["stable"]["name"] == candidate
    assert route_weights(cluster, namespace, "m") == {candidate: 100}


def test_pause_resume_and_promote_full(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    slow = {
        "type": "canary",
        "canary": {"steps": [{"weight": 20, "pause": {"duration": "1h"}}, {"weight": 100}]},
    }
    _promoted_first(cluster, namespace, op, slow)
    apply(cluster, namespace, _v2(slow))
    wait_for(
        cluster,
        namespace,
        "m",
        lambda b: status_of(b).get("currentStepIndex") == 0 and phase(b) == "Progressing",
        "step 1 running",
        operator=op,
    )
    rid = request_action(cluster, namespace, "m", "pause")
    paused = wait_for(cluster, namespace, "m", _handled(rid), "pause handled", operator=op)
    assert phase(paused) == "Paused"
    rid = request_action(cluster, namespace, "m", "resume")
    resumed = wait_for(cluster, namespace, "m", _handled(rid), "resume handled", operator=op)
    assert phase(resumed) == "Progressing"
    rid = request_action(cluster, namespace, "m", "promote-full")
    done = wait_for(cluster, namespace, "m", lambda b: phase(b) == "Promoted", "promote-full", operator=op)
    assert done["status"]["lastHandledRequestResult"] == "promote-full accepted"


def test_new_spec_mid_rollout_supersedes_the_candidate(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    stable = _promoted_first(cluster, namespace, op, GATED)
    apply(cluster, namespace, _v2(GATED))
    first = wait_for(cluster, namespace, "m", lambda b: phase(b) == "Paused", "gate of v2", operator=op)
    v2 = first["status"]["candidate"]["name"]
    apply(
        cluster,
        namespace,
        model_deployment(
            "m", image="registry.example/budget-optimizer:3.0.0", version="3.0.0", strategy=GATED
        ),
    )
    second = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: phase(b) == "Paused" and status_of(b)["candidate"]["name"] != v2,
        "gate of v3",
        operator=op,
    )
    v3 = second["status"]["candidate"]["name"]
    assert route_weights(cluster, namespace, "m") == {stable: 90, v3: 10}
    reasons = [h["reason"] for h in second["status"]["history"]]
    assert "Superseded" in reasons


def test_never_ready_candidate_fails_without_a_traffic_change(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    stable = _promoted_first(cluster, namespace, op)
    apply(cluster, namespace, _v2(tag=NEVER_READY_TAG))
    body = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: phase(b) == "RolledBack",
        "never-ready candidate failed",
        operator=op,
    )
    assert "ImagePullBackOff" in body["status"]["message"]
    assert route_weights(cluster, namespace, "m") == {stable: 100}
    assert op.proc.poll() is None  # no crash loop


def test_missing_gateway_is_a_condition_not_a_crash(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    md = model_deployment("m")
    md["spec"]["target"]["kubernetes"]["gateway"] = {"name": "absent", "namespace": "gateways"}
    apply(cluster, namespace, md)

    def backend_condition(b: dict[str, Any]) -> bool:
        return any(
            c["type"] == "BackendHealthy" and c["status"] == "False"
            for c in status_of(b).get("conditions", [])
        )

    body = wait_for(cluster, namespace, "m", backend_condition, "BackendHealthy=False", operator=op)
    cond = next(c for c in body["status"]["conditions"] if c["type"] == "BackendHealthy")
    assert cond["reason"] == "GatewayNotFound"
    assert "Gateway gateways/absent (spec.target.kubernetes.gateway) does not exist" in cond["message"]
    assert cluster.kubectl("get", "httproute", "m", "-n", namespace, check=False).returncode != 0
    assert op.proc.poll() is None


def test_killed_operator_resumes_to_the_same_outcome(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    steps = {
        "type": "canary",
        "canary": {
            "steps": [
                {"weight": 10, "pause": {"duration": "2s"}},
                {"weight": 50, "pause": {"duration": "2s"}},
                {"weight": 100},
            ]
        },
    }
    _promoted_first(cluster, namespace, op, steps)
    apply(cluster, namespace, _v2(steps))
    mid = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: (
            status_of(b).get("currentStepIndex") == 0
            and bool(
                (status_of(b).get("traffic") or {})
                .get("weights", {})
                .get(status_of(b).get("candidate", {}).get("name", ""))
            )
        ),
        "candidate at 10%",
        operator=op,
    )
    candidate = mid["status"]["candidate"]["name"]
    op.stop(signal.SIGKILL)
    op2 = start_operator()
    done = wait_for(
        cluster, namespace, "m", lambda b: phase(b) == "Promoted", "promoted after restart", operator=op2
    )
    assert done["status"]["stable"]["name"] == candidate
    assert route_weights(cluster, namespace, "m") == {candidate: 100}


def test_deletion_removes_everything(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    _promoted_first(cluster, namespace, op)
    assert cluster.kubectl("get", "deploy,svc,httproute", "-n", namespace, "-o", "name").stdout.strip()
    cluster.kubectl("delete", "modeldeployment", "m", "-n", namespace, "--timeout=60s")
    left = cluster.kubectl("get", "deploy,svc,hpa,httproute", "-n", namespace, "-o", "json").stdout
    assert [i["metadata"]["name"] for i in json.loads(left)["items"]] == []
