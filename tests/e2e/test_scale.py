"""A platform's worth of ModelDeployments on one operator: a hundred applied at once are all promoted, updated
and deleted by a handful of workers, and the operator holds nothing for them afterwards."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest

from localkube.testing import ClusterHandle
from tests.e2e.conftest import OperatorProcess, StartOperator
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster

N = 100
# The bench's canary: 10 % and 50 % held 1 s each, then 100 %; the old stable goes 3 s after the switch.
STEPS = {
    "steps": [
        {"weight": 10, "pause": {"duration": "1s"}},
        {"weight": 50, "pause": {"duration": "1s"}},
        {"weight": 100},
    ],
    "scaleDownDelay": "3s",
}


def _apply_all(cluster: ClusterHandle, namespace: str, version: str) -> None:
    items = [
        model_deployment(
            f"m{i:03d}",
            image=f"registry.example/m:{version}",
            version=version,
            strategy={"type": "canary", "canary": STEPS},
        )
        for i in range(N)
    ]
    cluster.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
    )


def _all_promoted(cluster: ClusterHandle, namespace: str, version: str) -> bool | str:
    out = json.loads(cluster.kubectl("get", "mdep", "-n", namespace, "-o", "json").stdout)
    n = sum(
        1
        for b in out["items"]
        if (b.get("status") or {}).get("phase") == "Promoted"
        and ((b.get("status") or {}).get("stable") or {}).get("modelVersion") == version
    )
    return True if n == N else f"{n} of {N} promoted"


def _until(check: Any, what: str, timeout: float, op: OperatorProcess) -> float:
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        last = check()
        if last is True:
            return time.monotonic() - start
        assert op.proc.poll() is None, op.output()[-4000:]
        time.sleep(1.0)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last: {last})\n{op.output()[-3000:]}"
    )


def _metrics(op: OperatorProcess) -> dict[str, float]:
    m = re.search(r"metrics on :(\d+)/metrics", op.output())
    assert m, "the operator did not log its metrics port"
    text = urllib.request.urlopen(f"http://127.0.0.1:{m[1]}/metrics", timeout=5).read().decode()
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("modeldeploy_workqueue") or line.startswith("modeldeploy_objects")
    }


def test_a_hundred_model_deployments_are_promoted_updated_and_deleted(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator("--workers=4")
    _apply_all(cluster, namespace, "1.0.0")
    created = _until(
        lambda: _all_promoted(cluster, namespace, "1.0.0"),
        "all promoted",
        240,
        op,
    )
    _apply_all(cluster, namespace, "1.1.0")
    updated = _until(
        lambda: _all_promoted(cluster, namespace, "1.1.0"),
        "all updated",
        240,
        op,
    )

    # Every old revision is removed once its scale-down delay ends (a requeue-after timer per object).
    def retired() -> bool | str:
        deps = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)[
            "items"
        ]
        images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in deps}
        return True if len(deps) == N and images == {"registry.example/m:1.1.0"} else f"{len(deps)} left"

    _until(retired, "old revisions removed", 120, op)
    before = _metrics(op)
    assert before["modeldeploy_objects"] == N
    cluster.kubectl("delete", "mdep", "--all", "-n", namespace, "--wait=false")

    def gone() -> bool | str:
        left = json.loads(cluster.kubectl("get", "mdep", "-n", namespace, "-o", "json").stdout)["items"]
        return True if not left else f"{len(left)} left"

    deleted = _until(gone, "all deleted", 180, op)
    after = _until(
        lambda: _metrics(op).get("modeldeploy_objects") == 0 or _metrics(op),
        "operator state released",
        30,
        op,
    )
    m = _metrics(op)
    assert m["modeldeploy_workqueue_depth"] == 0
    assert m["modeldeploy_workqueue_scheduled"] == 0  # no timer left for a deleted object
    print(
        f"\n{N} objects: promoted in {created:.0f}s, updated in {updated:.0f}s, "
        f"deleted in {deleted:.0f}s (state released {after:.0f}s later)"
    )
