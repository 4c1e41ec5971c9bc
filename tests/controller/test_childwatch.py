"""The child watches: LIST then WATCH into the cache, resumed from the last version, relisted on 410 (and
what was deleted meanwhile dropped), owners woken only when a child tells them something new. Fakes for the
protocol's corners; the real apiserver for the loop end to end."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from modeldeploy.backends.kubernetes.cache import ChildCache
from modeldeploy.controller.childwatch import CHILD_KINDS, ChildWatch, ChildWatches, api_transport
from modeldeploy.controller.handlers import MANAGED, WakeOwners

DEPLOYMENTS = CHILD_KINDS[0]
SELECTOR = "app.kubernetes.io/managed-by=modeldeploy"


def dep(name: str, rv: int, ready: int = 0, ns: str = "team-a", owner: str = "m") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": str(rv),
            "labels": {"mlops.kdap.io/deployment": owner, "mlops.kdap.io/revision": name},
        },
        "spec": {"replicas": 1},
        "status": {"readyReplicas": ready},
    }


class FakeResponse:
    def __init__(self, status: int, payload: Any = None, lines: list[Any] | None = None) -> None:
        self.status = status
        self._payload = payload
        self._lines = lines or []
        self.closed = False

    def lines(self) -> Iterator[bytes]:
        for line in self._lines:
            if isinstance(line, Exception):
                raise line
            yield json.dumps(line).encode()

    def body(self) -> bytes:
        return json.dumps(self._payload).encode()

    def close(self) -> None:
        self.closed = True


class Scripted:
    """Answers requests in order; records (path, params) of each."""

    def __init__(self, answers: list[FakeResponse]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, str]]] = []

    def __call__(self, path: str, params: list[tuple[str, str]], timeout: float) -> FakeResponse:
        self.requests.append((path, dict(params)))
        if not self.answers:
            raise ConnectionError("no more answers")
        return self.answers.pop(0)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.relists: list[tuple[str, str | None, set[tuple[str, str]], str]] = []

    def event(self, event_type: str, obj: dict[str, Any]) -> None:
        self.events.append((event_type, obj["kind"], obj["metadata"]["name"]))

    def relisted(self, kind: str, namespace: str | None, present: set[tuple[str, str]], list_rv: str) -> None:
        self.relists.append((kind, namespace, present, list_rv))


def page(items: list[dict[str, Any]], rv: str, cont: str = "") -> FakeResponse:
    return FakeResponse(200, {"items": items, "metadata": {"resourceVersion": rv, "continue": cont}})


def test_a_list_pages_through_and_reports_what_it_saw_then_the_watch_resumes_from_its_version() -> None:
    transport = Scripted(
        [
            page([dep("a", 5)], "7", cont="next"),
            page([dep("b", 6)], "8"),
            FakeResponse(
                200,
                lines=[
                    {"type": "MODIFIED", "object": {**dep("a", 9, ready=1), "kind": "Deployment"}},
                    {
                        "type": "BOOKMARK",
                        "object": {"kind": "Deployment", "metadata": {"resourceVersion": "12"}},
                    },
                ],
            ),
        ]
    )
    sink = Recorder()
    w = ChildWatch(transport, DEPLOYMENTS, "team-a", SELECTOR, sink, threading.Event())
    rv = w.list_once()
    assert rv == "8"
    assert w.synced.is_set()
    assert sink.events == [("ADDED", "Deployment", "a"), ("ADDED", "Deployment", "b")]  # kind filled in
    assert sink.relists == [("Deployment", "team-a", {("team-a", "a"), ("team-a", "b")}, "8")]
    assert transport.requests[1][1]["continue"] == "next"
    assert transport.requests[0][0] == "/apis/apps/v1/namespaces/team-a/deployments"
    assert transport.requests[0][1]["labelSelector"] == SELECTOR
    assert w.watch_once(rv) == "12"  # the bookmark moved it on, and delivered nothing
    watch = transport.requests[2][1]
    assert (watch["watch"], watch["resourceVersion"], watch["allowWatchBookmarks"]) == ("true", "8", "true")
    assert sink.events[-1] == ("MODIFIED", "Deployment", "a")


def test_gone_relists_and_a_broken_connection_resumes_from_the_last_version_seen() -> None:
    stop = threading.Event()
    transport = Scripted(
        [
            page([], "10"),
            FakeResponse(
                200,
                lines=[
                    {"type": "ADDED", "object": {**dep("a", 11), "kind": "Deployment"}},
                    ConnectionResetError("peer went away"),
                ],
            ),
            FakeResponse(200, lines=[{"type": "ERROR", "object": {"code": 410, "message": "too old"}}]),
            page([dep("a", 11)], "20"),
            FakeResponse(410),  # a watch refused outright also relists
            page([], "30"),
        ]
    )
    sink = Recorder()
    w = ChildWatch(transport, DEPLOYMENTS, None, SELECTOR, sink, stop)
    w.start()
    deadline = time.monotonic() + 10
    while len(transport.requests) < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    paths = [(p, q.get("watch"), q.get("resourceVersion")) for p, q in transport.requests[:6]]
    assert paths == [
        ("/apis/apps/v1/deployments", None, None),  # cluster-wide
        ("/apis/apps/v1/deployments", "true", "10"),
        ("/apis/apps/v1/deployments", "true", "11"),  # resumed after the reset, from what it had seen
        ("/apis/apps/v1/deployments", None, None),  # 410 in the stream: relist
        ("/apis/apps/v1/deployments", "true", "20"),
        ("/apis/apps/v1/deployments", None, None),  # 410 on the request: relist
    ]
    assert [r[3] for r in sink.relists] == ["10", "20", "30"]


def test_a_relist_drops_what_was_deleted_unseen_but_keeps_what_was_written_after_it() -> None:
    cache = ChildCache()
    woken: list[tuple[str, str]] = []
    sink = WakeOwners(cache, woken.append)
    sink.event("ADDED", {**dep("old", 5, owner="gone-owner"), "kind": "Deployment"})
    sink.event("ADDED", {**dep("kept", 6), "kind": "Deployment"})
    cache.deployments.upsert({**dep("fresh", 40), "kind": "Deployment"})  # our write after the LIST at 30
    woken.clear()
    sink.relisted("Deployment", None, {("team-a", "kept")}, "30")
    assert cache.deployments.get("team-a", "old") is None
    assert cache.deployments.get("team-a", "kept") is not None
    assert cache.deployments.get("team-a", "fresh") is not None
    assert woken == [("team-a", "gone-owner")]  # its owner learns its revision is gone


def test_owners_wake_on_news_only_and_pods_only_on_failure() -> None:
    cache = ChildCache()
    woken: list[tuple[str, str]] = []
    sink = WakeOwners(cache, woken.append)
    sink.event("ADDED", {**dep("r1", 5), "kind": "Deployment"})
    sink.event("MODIFIED", {**dep("r1", 5), "kind": "Deployment"})  # the same version again: no news
    assert woken == [("team-a", "m")]
    pod = {
        "kind": "Pod",
        "metadata": {
            "name": "r1-x",
            "namespace": "team-a",
            "resourceVersion": "7",
            "labels": {"mlops.kdap.io/deployment": "m", "mlops.kdap.io/revision": "r1"},
        },
        "status": {"containerStatuses": [{"state": {"running": {}}, "restartCount": 0}]},
    }
    sink.event("ADDED", pod)
    assert woken == [("team-a", "m")]  # a healthy pod wakes nobody
    bad = {
        **pod,
        "metadata": {**pod["metadata"], "resourceVersion": "8"},
        "status": {
            "containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}, "restartCount": 0}]
        },
    }
    sink.event("MODIFIED", bad)
    assert woken == [("team-a", "m"), ("team-a", "m")]
    assert cache.pods.by_index(("team-a", "r1"))[0]["metadata"]["resourceVersion"] == "8"


@pytest.mark.cluster
def test_the_watches_follow_labelled_children_on_a_real_apiserver(
    k8s_api: client.ApiClient, namespace: str
) -> None:
    cache = ChildCache()
    woken: list[tuple[str, str]] = []
    watches = ChildWatches(
        api_transport(k8s_api),
        [namespace],
        ",".join(f"{k}={v}" for k, v in MANAGED.items()),
        WakeOwners(cache, woken.append),
    )
    apps = client.AppsV1Api(k8s_api)

    def body(name: str, labelled: bool) -> dict[str, Any]:
        labels = {"app": name, **({**MANAGED, "mlops.kdap.io/deployment": "m1"} if labelled else {})}
        return {
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                },
            },
        }

    apps.create_namespaced_deployment(namespace, body("before", True))  # there before the watch: LISTed
    watches.start()
    try:
        assert watches.wait_synced(20), "the first LIST never finished"
        assert cache.deployments.get(namespace, "before") is not None
        apps.create_namespaced_deployment(namespace, body("ours", True))
        apps.create_namespaced_deployment(namespace, body("theirs", False))
        deadline = time.monotonic() + 20
        while cache.deployments.get(namespace, "ours") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cache.deployments.get(namespace, "ours") is not None
        assert (namespace, "m1") in woken
        apps.delete_namespaced_deployment("ours", namespace)
        while cache.deployments.get(namespace, "ours") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cache.deployments.get(namespace, "ours") is None
        assert cache.deployments.get(namespace, "theirs") is None  # not labelled: never watched
    finally:
        watches.stop()
