"""Finding 6: status is not the operator's to trust. Users who may run `kubectl mdep promote` can write the
status subresource; a forged ``retiredRevisions`` entry made the operator delete a Deployment it never
created, and an HTTPRoute that already had the object's name was taken over (or broke every reconcile).
Now the backend acts only on children whose owner reference names the ModelDeployment."""

from __future__ import annotations

import json
import time

import pytest

from localkube.testing import ClusterHandle
from tests.e2e.conftest import StartOperator, apply, get_md, phase, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster


def _exists(cluster: ClusterHandle, kind: str, namespace: str, name: str) -> bool:
    done = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "name", check=False)
    return done.returncode == 0


def test_a_forged_retired_revision_never_deletes_what_the_operator_did_not_create(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    op = start_operator()
    cluster.kubectl("create", "deployment", "victim", "-n", namespace, "--image=registry.example/victim:1")
    apply(cluster, namespace, model_deployment("m"))
    wait_for(cluster, namespace, "m", lambda b: phase(b) == "Promoted", "promoted", operator=op)
    forged = {"status": {"retiredRevisions": [{"name": "victim", "deleteAfter": "2020-01-01T00:00:00Z"}]}}
    cluster.kubectl(
        "patch",
        "mdep",
        "m",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(forged),
    )
    # The operator acts on the forged entry (a status change it did not write wakes it) ...
    assert "DeleteRevision" not in op.output()  # nothing was retired before the forgery
    end = time.monotonic() + 30
    while time.monotonic() < end and "DeleteRevision" not in op.output():
        time.sleep(0.2)
    assert "DeleteRevision" in op.output(), op.output()[-3000:]
    time.sleep(2.0)
    # ... but deletes nothing it does not own.
    assert _exists(cluster, "deployment", namespace, "victim")
    assert phase(get_md(cluster, namespace, "m")) == "Promoted"


def test_an_existing_route_with_the_same_name_is_a_condition_not_a_takeover(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator
) -> None:
    theirs = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "m"},
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateways"}],
            "rules": [{"backendRefs": [{"name": "their-service", "port": 80, "weight": 100}]}],
        },
    }
    apply(cluster, namespace, theirs)
    op = start_operator()
    apply(cluster, namespace, model_deployment("m"))

    def refused(body: dict[str, object]) -> bool:
        conditions = (body.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
        return any(c["type"] == "BackendHealthy" and c["reason"] == "NotOwned" for c in conditions)

    body = wait_for(cluster, namespace, "m", refused, "a NotOwned condition", operator=op)
    condition = next(c for c in body["status"]["conditions"] if c["type"] == "BackendHealthy")
    assert condition["status"] == "False"
    assert f"HTTPRoute {namespace}/m exists and is not this ModelDeployment's" in condition["message"]
    route = json.loads(cluster.kubectl("get", "httproute", "m", "-n", namespace, "-o", "json").stdout)
    refs = route["spec"]["rules"][0]["backendRefs"]
    assert [(r["name"], r["weight"]) for r in refs] == [("their-service", 100)]
    assert not route["metadata"].get("ownerReferences")
