"""The ModelDeployments the watch delivered, by (namespace, name): what a worker reconciles from.

Bodies are kept as compact JSON, deflated, not dicts: a thousand ModelDeployments with their status history
cost about 1 MB this way (5 MB as JSON text, tens of MB as Python objects), and every worker gets its own
fresh copy for free; deflating at level 1 and inflating cost microseconds against a reconcile's milliseconds.
What the operator never reads is dropped before that (as client-go's TransformStripManagedFields does):
managedFields, and kubectl's last-applied-configuration annotation, a second copy of the whole spec.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Mapping
from copy import copy
from typing import Any

Key = tuple[str, str]  # (namespace, name)


def key_of(body: Mapping[str, Any]) -> Key:
    meta = body["metadata"]
    return str(meta.get("namespace", "")), str(meta["name"])


def rv_number(rv: str | None) -> int | None:
    """A resourceVersion as the etcd revision it is, to tell older from newer (None if not a number)."""
    try:
        return None if rv is None else int(rv)
    except ValueError:
        return None


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def stripped(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """``body`` without managedFields and the last-applied annotation (shallow copies; the input is kept)."""
    meta = body.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if "managedFields" not in meta and LAST_APPLIED not in annotations:
        return body
    meta = {k: v for k, v in meta.items() if k != "managedFields"}
    if LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    out = copy(dict(body))
    out["metadata"] = meta
    return out


class BodyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[Key, tuple[str, bytes]] = {}  # key -> (resourceVersion, deflated JSON)

    def put(self, body: Mapping[str, Any]) -> Key:
        key = key_of(body)
        rv = str(body["metadata"].get("resourceVersion", ""))
        text = zlib.compress(json.dumps(stripped(body), separators=(",", ":")).encode(), 1)
        with self._lock:
            self._items[key] = (rv, text)
        return key

    def remove(self, key: Key) -> None:
        with self._lock:
            self._items.pop(key, None)

    def get(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(key)
        if item is None:
            return None
        body: dict[str, Any] = json.loads(zlib.decompress(item[1]))
        return body

    def key_list(self) -> list[Key]:
        with self._lock:
            return list(self._items)

    def stored_bytes(self) -> int:
        """What the bodies take as stored (the JSON deflated)."""
        with self._lock:
            return sum(len(text) for _, text in self._items.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
