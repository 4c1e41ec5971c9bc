"""The watch-fed child cache: newest version wins, our own writes are not news, projections keep what the
backend judges, a 404 answers for a while, and the backend reads through it instead of asking the API."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import NotFoundError

from modeldeploy.backends.kubernetes import cache as cache_mod
from modeldeploy.backends.kubernetes.backend import KubernetesBackend
from modeldeploy.backends.kubernetes.cache import ChildCache, Store, owner_key, project_deployment
from modeldeploy.backends.kubernetes.manifests import RouteSpec
from modeldeploy.ports import Owner
from modeldeploy.rollout.serving import Readiness


def deployment(name: str, rv: int, ready: int = 0, ns: str = "team-a") -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": str(rv),
            "generation": 1,
            "labels": {"mlops.kdap.io/deployment": "m", "mlops.kdap.io/revision": name},
            "annotations": {"big": "x" * 1000},
            "managedFields": [{"manager": "kube-controller-manager"}],
        },
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "i"}]}}},
        "status": {"readyReplicas": ready, "updatedReplicas": ready, "observedGeneration": 1},
    }


def test_the_newest_version_wins_and_a_repeat_is_not_news() -> None:
    store = Store(project_deployment)
    assert store.upsert(deployment("m-1", 10)) is True
    assert store.upsert(deployment("m-1", 10)) is False  # our own write coming back through the watch
    assert store.upsert(deployment("m-1", 9, ready=1)) is False  # a lagging event never replaces a newer view
    assert store.get("team-a", "m-1")["status"]["readyReplicas"] == 0  # type: ignore[index]
    assert store.upsert(deployment("m-1", 11, ready=1)) is True
    assert store.get("team-a", "m-1")["status"]["readyReplicas"] == 1  # type: ignore[index]


def test_projections_keep_only_what_the_backend_judges() -> None:
    item = project_deployment(deployment("m-1", 3, ready=1))
    assert "annotations" not in item["metadata"]
    assert "managedFields" not in item["metadata"]
    assert "template" not in item["spec"]
    assert item["status"] == {
        "readyReplicas": 1,
        "updatedReplicas": 1,
        "observedGeneration": 1,
        "conditions": [],
    }


def test_a_newer_version_that_only_moved_a_timestamp_is_stored_but_is_no_news() -> None:
    store = Store(project_deployment)
    first = deployment("m-1", 10)
    first["status"]["conditions"] = [
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "lastUpdateTime": "t1"}
    ]
    assert store.upsert(first) is True
    later = deployment("m-1", 11)
    later["status"]["conditions"] = [{**first["status"]["conditions"][0], "lastUpdateTime": "t2"}]
    assert store.upsert(later) is False
    assert store.get("team-a", "m-1")["metadata"]["resourceVersion"] == "11"  # type: ignore[index]
    ready = deployment("m-1", 12, ready=1)
    ready["status"]["conditions"] = later["status"]["conditions"]
    assert store.upsert(ready) is True


def test_pods_are_indexed_by_revision_and_released_with_their_owner() -> None:
    children = ChildCache()
    pod = {
        "kind": "Pod",
        "metadata": {
            "name": "m-1-abc",
            "namespace": "team-a",
            "resourceVersion": "5",
            "labels": {"mlops.kdap.io/deployment": "m", "mlops.kdap.io/revision": "m-1"},
        },
        "status": {"containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}]},
    }
    assert children.observe("ADDED", pod) is True
    assert [p["metadata"]["name"] for p in children.pods.by_index(("team-a", "m-1"))] == ["m-1-abc"]
    assert children.pods.by_index(("team-b", "m-1")) == []
    assert children.observe("ADDED", deployment("m-1", 6)) is True
    assert owner_key(pod) == ("team-a", "m")
    children.forget_owner("team-a", "m")
    assert children.pods.by_index(("team-a", "m-1")) == []
    assert children.deployments.get("team-a", "m-1") is None
    assert children.observe("DELETED", deployment("m-1", 7)) is False  # already gone: not news


class FakeResource:
    def __init__(self, kind: str, objects: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.kind, self.objects, self.gets = kind, objects, 0

    def get(self, name: str, namespace: str) -> Any:
        self.gets += 1
        found = self.objects.get((namespace, name))
        if found is None:
            raise NotFoundError(ApiException(status=404, reason="Not Found"))
        return type("Instance", (), {"to_dict": lambda _self: found})()


class FakeDynamic:
    def __init__(self, objects: dict[str, dict[tuple[str, str], dict[str, Any]]]) -> None:
        self.res = {kind: FakeResource(kind, objs) for kind, objs in objects.items()}
        self.resources = self

    def get(self, api_version: str, kind: str) -> FakeResource:
        return self.res.setdefault(kind, FakeResource(kind, {}))


def backend(dyn: FakeDynamic, children: ChildCache | None) -> KubernetesBackend:
    return KubernetesBackend(dyn, RouteSpec("public", "gateways"), lambda r: None, cache=children)  # type: ignore[arg-type, return-value]


OWNER = Owner("team-a", "m", "uid-m")


def test_reads_come_from_the_cache_and_a_404_is_not_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    dyn = FakeDynamic({"Deployment": {("team-a", "m-1"): deployment("m-1", 4, ready=1)}})
    children = ChildCache()
    b = backend(dyn, children)
    assert b.revision_state(OWNER, "m-1").readiness is Readiness.READY  # one GET, then cached
    assert b.revision_state(OWNER, "m-1").readiness is Readiness.READY
    assert dyn.res["Deployment"].gets == 1
    # A route that does not exist yet: asked once, then answered from the cache until MISSING_TTL ...
    assert b.observed_traffic(OWNER) is None
    assert b.observed_traffic(OWNER) is None
    assert dyn.res["HTTPRoute"].gets == 1
    # ... or until the watch shows it.
    route = {
        "kind": "HTTPRoute",
        "metadata": {
            "name": "m",
            "namespace": "team-a",
            "resourceVersion": "9",
            "labels": {},
            "ownerReferences": [{"uid": "uid-m", "kind": "ModelDeployment", "name": "m"}],
        },
        "spec": {"rules": [{"backendRefs": [{"name": "m-1", "weight": 100}]}]},
    }
    assert children.observe("ADDED", route) is True
    split = b.observed_traffic(OWNER)
    assert split is not None
    assert dict(split.weights) == {"m-1": 100}
    assert dyn.res["HTTPRoute"].gets == 1
    children.observe("DELETED", route)
    monkeypatch.setattr(cache_mod, "MISSING_TTL", -1.0)  # an old 404 is asked again
    assert b.observed_traffic(OWNER) is None
    assert dyn.res["HTTPRoute"].gets == 2


def test_without_a_cache_every_read_asks_the_api() -> None:
    dyn = FakeDynamic({"Deployment": {("team-a", "m-1"): deployment("m-1", 4, ready=1)}})
    b = backend(dyn, None)
    b.observed_traffic(OWNER)
    b.observed_traffic(OWNER)
    assert dyn.res["HTTPRoute"].gets == 2
