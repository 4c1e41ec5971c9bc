"""Watch-fed caches of the children the Kubernetes backend reads (Deployments, their Pods, HTTPRoutes).

A reconcile that only observes (a resync of a Promoted object, a pass after a status write) then costs no API
request: readiness and traffic come from here. Only the fields the backend judges are kept (a projection),
so a thousand objects with two revisions each cost a few MB, not the hundreds a full Pod costs as Python
objects. Our own writes are written through (the apply answer is the stored object), and an older view never
replaces a newer one, so a watch event that lags behind a write cannot make a reconcile see the past.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from modeldeploy.backends.kubernetes.manifests import LABEL_DEPLOYMENT, LABEL_REVISION

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
# How long a 404 answers for an object before it is asked again (any watch event or write of it ends it
# sooner). Without it, an object still waiting for its first revision asked for its route on every pass.
MISSING_TTL = 60.0


def _rv(obj: Mapping[str, Any]) -> int | None:
    try:
        return int(obj["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return None


def _without_version(item: Obj) -> Obj:
    return {**item, "metadata": {k: v for k, v in item["metadata"].items() if k != "resourceVersion"}}


def _meta(obj: Mapping[str, Any]) -> Obj:
    m = obj.get("metadata") or {}
    return {
        "name": m.get("name"),
        "namespace": m.get("namespace"),
        "resourceVersion": m.get("resourceVersion"),
        "generation": m.get("generation"),
        "labels": dict(m.get("labels") or {}),
        # Only who owns it: the backend never acts on what its ModelDeployment does not own.
        "ownerReferences": [{"uid": r.get("uid")} for r in m.get("ownerReferences") or []],
    }


_READINESS = ("readyReplicas", "updatedReplicas", "observedGeneration")


def project_deployment(obj: Mapping[str, Any]) -> Obj:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {
        "metadata": _meta(obj),
        "spec": {"replicas": spec.get("replicas")},
        "status": {
            **{
                k: status[k]
                for k in ("readyReplicas", "updatedReplicas", "observedGeneration")
                if k in status
            },
            # Without their timestamps: a condition whose time moved is no news to the backend.
            "conditions": [
                {k: c.get(k) for k in ("type", "status", "reason", "message")}
                for c in status.get("conditions") or []
            ],
        },
    }


def project_pod(obj: Mapping[str, Any]) -> Obj:
    statuses = [
        {
            "state": {"waiting": (cs.get("state") or {}).get("waiting")},
            "restartCount": cs.get("restartCount", 0),
        }
        for cs in (obj.get("status") or {}).get("containerStatuses") or []
        if (cs.get("state") or {}).get("waiting")
    ]
    return {"metadata": _meta(obj), "status": {"containerStatuses": statuses}}


def project_route(obj: Mapping[str, Any]) -> Obj:
    return {"metadata": _meta(obj), "spec": {"rules": (obj.get("spec") or {}).get("rules") or []}}


class Store:
    """Objects of one kind by (namespace, name), newest resourceVersion wins; optionally indexed."""

    def __init__(
        self,
        project: Callable[[Mapping[str, Any]], Obj],
        index: Callable[[Obj], Hashable | None] | None = None,
    ) -> None:
        self._project, self._index_of = project, index
        self._lock = threading.Lock()
        self._items: dict[Key, Obj] = {}
        self._index: dict[Hashable, set[Key]] = {}
        self._missing: dict[Key, float] = {}  # key -> when a live read last found it absent

    def note_missing(self, namespace: str, name: str) -> None:
        """A live read found no such object: answer that without asking again for a while."""
        with self._lock:
            if (namespace, name) not in self._items:
                self._missing[(namespace, name)] = time.monotonic()

    def known_missing(self, namespace: str, name: str) -> bool:
        with self._lock:
            at = self._missing.get((namespace, name))
            if at is None:
                return False
            if time.monotonic() - at > MISSING_TTL:
                del self._missing[(namespace, name)]
                return False
            return True

    def upsert(self, obj: Mapping[str, Any]) -> bool:
        """Keep ``obj`` unless a newer or the same version is here; True when it was news."""
        item = self._project(obj)
        key = (item["metadata"]["namespace"], item["metadata"]["name"])
        with self._lock:
            self._missing.pop(key, None)
            old = self._items.get(key)
            news = True
            if old is not None:
                new_rv, old_rv = _rv(item), _rv(old)
                if new_rv is not None and old_rv is not None and new_rv <= old_rv:
                    return False  # a lagging watch event, or our own write coming back
                # A newer version that changed nothing the backend judges (a status timestamp) is no news.
                news = _without_version(item) != _without_version(old)
                self._unindex(key, old)
            self._items[key] = item
            if self._index_of is not None:
                ix = self._index_of(item)
                if ix is not None:
                    self._index.setdefault(ix, set()).add(key)
        return news

    def remove(self, namespace: str, name: str) -> bool:
        key = (namespace, name)
        with self._lock:
            self._missing.pop(key, None)
            old = self._items.pop(key, None)
            if old is not None:
                self._unindex(key, old)
        return old is not None

    def get(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._items.get((namespace, name))

    def by_index(self, value: Hashable) -> list[Obj]:
        with self._lock:
            return [self._items[k] for k in self._index.get(value, ())]

    def remove_where(self, predicate: Callable[[Obj], bool]) -> list[Obj]:
        with self._lock:
            self._missing.clear()
            gone = [(k, v) for k, v in self._items.items() if predicate(v)]
            for key, old in gone:
                del self._items[key]
                self._unindex(key, old)
        return [old for _, old in gone]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _unindex(self, key: Key, old: Obj) -> None:
        if self._index_of is None:
            return
        ix = self._index_of(old)
        keys = self._index.get(ix) if ix is not None else None
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._index[ix]


def _pod_revision(pod: Obj) -> Hashable | None:
    labels = pod["metadata"]["labels"]
    rev = labels.get(LABEL_REVISION)
    return None if rev is None else (pod["metadata"]["namespace"], rev)


class ChildCache:
    """What the operator's watches on its own children saw; shared by every Kubernetes backend instance."""

    def __init__(self) -> None:
        self.deployments = Store(project_deployment)
        self.pods = Store(project_pod, _pod_revision)
        self.routes = Store(project_route)
        # Gateways live in the platform's namespaces, which this operator may not watch: a Gateway found
        # is trusted for MISSING_TTL (a missing one is asked for every time, so its creation is seen at once).
        self._gateways: dict[Key, float] = {}
        self._lock = threading.Lock()

    def gateway_seen(self, namespace: str, name: str) -> bool:
        with self._lock:
            at = self._gateways.get((namespace, name))
        return at is not None and time.monotonic() - at <= MISSING_TTL

    def saw_gateway(self, namespace: str, name: str) -> None:
        with self._lock:
            self._gateways[(namespace, name)] = time.monotonic()

    def store_for(self, kind: str) -> Store | None:
        return {"Deployment": self.deployments, "Pod": self.pods, "HTTPRoute": self.routes}.get(kind)

    def observe(self, event_type: str, obj: Mapping[str, Any]) -> bool:
        """Apply a watch event; True when it told us something the cache did not know."""
        store = self.store_for(str(obj.get("kind", "")))
        if store is None:
            return False
        meta = obj.get("metadata") or {}
        if event_type == "DELETED":
            return store.remove(meta.get("namespace", ""), meta.get("name", ""))
        return store.upsert(obj)

    def relisted(self, kind: str, namespace: str | None, present: set[Key], list_rv: str) -> list[Obj]:
        """A LIST at ``list_rv`` saw exactly ``present``: drop what was deleted while nobody watched (but not
        what this operator wrote after that LIST); the dropped objects."""
        store = self.store_for(kind)
        if store is None:
            return []
        at = _rv({"metadata": {"resourceVersion": list_rv}})

        def deleted(item: Obj) -> bool:
            meta = item["metadata"]
            if namespace is not None and meta["namespace"] != namespace:
                return False
            if (meta["namespace"], meta["name"]) in present:
                return False
            rv = _rv(item)
            return at is None or rv is None or rv <= at

        return store.remove_where(deleted)

    def forget_owner(self, namespace: str, name: str) -> None:
        """Drop what a deleted ModelDeployment left (the garbage collector's DELETED events do too)."""

        def owned(item: Obj) -> bool:
            meta = item["metadata"]
            return bool(meta["namespace"] == namespace and meta["labels"].get(LABEL_DEPLOYMENT) == name)

        for store in (self.deployments, self.routes, self.pods):
            store.remove_where(owned)


def owner_key(obj: Mapping[str, Any]) -> Key | None:
    """The (namespace, name) of the ModelDeployment a child belongs to, from the label the backend sets."""
    meta = obj.get("metadata") or {}
    name = (meta.get("labels") or {}).get(LABEL_DEPLOYMENT)
    return None if not name or not meta.get("namespace") else (meta["namespace"], name)
