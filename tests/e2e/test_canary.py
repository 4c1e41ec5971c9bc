"""Canary rollouts end to end: the operator process, the real apiserver, kwok pods, a real HTTPRoute."""

from __future__ import annotations

import json
import time

import pytest

from localkube.testing import ClusterHandle
from tests.e2e.conftest import StartOperator, get_md, phase, route_weights, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster


def test_first_revision_then_canary_10_25_50_100_promoted(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    md = model_deployment("budget")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(md))
    first = wait_for(
        cluster, namespace, "budget", lambda b: phase(b) == "Promoted", "first revision promoted", operator=op
    )
    stable = first["status"]["stable"]["name"]
    assert route_weights(cluster, namespace, "budget") == {stable: 100}

    md2 = model_deployment("budget", image="registry.example/budget-optimizer:1.1.0", version="1.1.0")
    started = time.monotonic()
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(md2))
    seen_weights: set[int] = set()

    def promoted(b: dict[str, object]) -> bool:
        status = b.get("status") or {}
        weights = (status.get("traffic") or {}).get("weights") or {}  # type: ignore[union-attr]
        cand = (status.get("candidate") or {}).get("name")  # type: ignore[union-attr]
        if cand and cand in weights:
            seen_weights.add(int(weights[cand]))
        stable_now = (status.get("stable") or {}).get("name")  # type: ignore[union-attr]
        return phase(b) == "Promoted" and stable_now != stable  # type: ignore[arg-type]

    done = wait_for(cluster, namespace, "budget", promoted, "canary promoted", operator=op)
    elapsed = time.monotonic() - started
    new_stable = done["status"]["stable"]["name"]
    assert new_stable != stable
    assert done["status"]["stable"]["modelVersion"] == "1.1.0"
    assert route_weights(cluster, namespace, "budget").get(new_stable) == 100
    assert done["status"]["observedGeneration"] == done["metadata"]["generation"]
    events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    reasons = {e["reason"] for e in json.loads(events)["items"]}
    assert reasons, "the operator posted no Events"
    print(
        f"\napply-to-promoted, 4-step zero-pause canary: {elapsed:.1f}s; weights seen: {sorted(seen_weights)}"
    )
    # the spec in Git was never touched by the operator
    assert get_md(cluster, namespace, "budget")["spec"]["model"]["version"] == "1.1.0"
