"""Two operator replicas never act at once: kopf peering keeps the lower-priority one idle, the handover makes
a replica that starts or resumes wait until the one it displaces has stopped, and when the active replica
dies the other takes over."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from localkube.testing import ClusterHandle
from tests.e2e.conftest import OperatorProcess, StartOperator, apply, phase, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _peers(cluster: ClusterHandle, namespace: str) -> dict[str, Any]:
    """Live operators as kopf records them in the namespace's KopfPeering status."""
    out = cluster.kubectl("get", "kopfpeering", "modeldeploy", "-n", namespace, "-o", "json").stdout
    status: dict[str, Any] = json.loads(out).get("status") or {}
    return status


def _wait_for_priorities(cluster: ClusterHandle, namespace: str, expected: list[int]) -> None:
    end = time.monotonic() + 30
    while True:
        seen = sorted(p["priority"] for p in _peers(cluster, namespace).values())
        if seen == expected or time.monotonic() > end:
            break
        time.sleep(0.3)
    assert seen == expected, f"live peers {seen}, expected {expected}"


def _stamped(op: OperatorProcess) -> Iterator[tuple[datetime, str]]:
    """The replica's log lines with their times (both replicas log this machine's clock)."""
    for line in op.output().splitlines():
        m = _STAMP.match(line)
        if m:
            yield datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f"), line


def _times(op: OperatorProcess, marker: str) -> list[datetime]:
    """When the replica logged lines containing ``marker``."""
    return [t for t, line in _stamped(op) if marker in line]


def _reconciles(op: OperatorProcess) -> list[tuple[datetime, timedelta]]:
    """(when each reconcile ended, how long it took), from the replica's log."""
    out = []
    for t, line in _stamped(op):
        took = re.search(r" reconciled \S+ in ([0-9.]+)s:", line)
        if took:
            out.append((t, timedelta(seconds=float(took[1]))))
    return out


def test_replicas_started_together_never_both_act_and_the_survivor_takes_over(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    # Started in the same instant, neither has seen the other when kopf first lets it run: the handover
    # holds both until the peering object shows each the other, and only the higher priority then acts.
    active = start_operator(priority=200, settle=None)
    standby = start_operator(priority=100, settle=None)
    apply(cluster, namespace, model_deployment("m"))
    wait_for(
        cluster,
        namespace,
        "m",
        lambda b: phase(b) == "Promoted",
        "promoted by the active replica",
        operator=active,
    )
    _wait_for_priorities(cluster, namespace, [100, 200])
    time.sleep(2)  # a standby that acted would have logged a reconcile by now
    assert "reconciled " in active.output()
    assert "reconciled " not in standby.output()

    active.stop(signal.SIGKILL)
    apply(
        cluster,
        namespace,
        model_deployment("m", image="registry.example/budget-optimizer:2.0.0", version="2.0.0"),
    )
    done = wait_for(
        cluster,
        namespace,
        "m",
        lambda b: phase(b) == "Promoted" and b["status"]["stable"]["modelVersion"] == "2.0.0",
        "promoted by the standby once the active replica's peering entry expired",
        timeout=150,
        operator=standby,
    )
    assert done["status"]["stable"]["modelVersion"] == "2.0.0"
    assert "reconciled " in standby.output()


def test_a_higher_priority_replica_joining_mid_rollout_acts_only_after_the_working_one_stopped(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    low = start_operator(priority=100, settle=None)
    apply(cluster, namespace, model_deployment("m"))
    wait_for(cluster, namespace, "m", lambda b: phase(b) == "Promoted", "1.0.0 promoted", operator=low)
    paced = {
        "type": "canary",
        "canary": {
            "steps": [
                {"weight": 10, "pause": {"duration": "5s"}},
                {"weight": 25, "pause": {"duration": "5s"}},
                {"weight": 50, "pause": {"duration": "5s"}},
                {"weight": 100},
            ]
        },
    }
    v2 = model_deployment(
        "m", image="registry.example/budget-optimizer:2.0.0", version="2.0.0", strategy=paced
    )
    apply(cluster, namespace, v2)
    wait_for(cluster, namespace, "m", lambda b: phase(b) == "Progressing", "2.0.0 progressing", operator=low)
    # A rolling update whose new pod drew the higher priority: it joins while the old one is mid-rollout.
    high = start_operator(priority=200, settle=None)
    wait_for(
        cluster,
        namespace,
        "m",
        lambda b: phase(b) == "Promoted" and b["status"]["stable"]["modelVersion"] == "2.0.0",
        "2.0.0 promoted",
        timeout=120,
        operator=high,
    )
    paused = _times(low, "Pausing operations in favour of")
    assert paused, "the working replica never paused"
    low_ends = [end for end, _ in _reconciles(low)]
    high_starts = [end - took for end, took in _reconciles(high)]
    assert high_starts, "the higher-priority replica never acted"
    # Strictly one at a time: the low replica's last reconcile ended before the high one's first began ...
    assert max(low_ends) < min(high_starts), (max(low_ends), min(high_starts))
    # Not by luck: kopf lets the new replica act the moment the old one is told to pause; the handover kept it
    # waiting well past that (without it the two land within a fraction of a second of each other).
    assert "handover: waiting" in high.output()
    assert min(high_starts) - paused[0] >= timedelta(seconds=1), (paused[0], min(high_starts))
    # ... and the high one took the rollout over: it moved traffic.
    assert re.search(r"reconciled \S+ in \S+ phase=\w+ actions=\S*SetTraffic", high.output())
