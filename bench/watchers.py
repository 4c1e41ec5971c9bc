"""When each object first reached a state, from a watch (not from polling full lists).

Polling ``kubectl get -o json`` for a thousand objects takes seconds of CPU per poll on a loaded machine, so
every object seen done in the same poll got the same time (p50 == p99). A watch delivers each change as it
happens; the first time an object satisfies the predicate is its time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

Predicate = Callable[[dict[str, Any]], bool]


class DoneWatcher:
    """Watches ``group/version/plural`` in ``namespace`` (``group`` "" for core kinds) in a thread."""

    def __init__(self, kubeconfig: Path, group: str, version: str, plural: str, namespace: str) -> None:
        api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
        self._custom = client.CustomObjectsApi(api)
        self._where = (group, version, namespace, plural)
        self._lock = threading.Lock()
        self._predicate: Predicate | None = None
        self._t0 = 0.0
        self._done: dict[str, float] = {}
        self._present: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch-{plural}")
        self._thread.start()

    def expect(self, predicate: Predicate) -> None:
        """From now on, record when each object first satisfies ``predicate`` (seconds since this call)."""
        with self._lock:
            self._predicate, self._t0, self._done = predicate, time.monotonic(), {}

    def done(self) -> dict[str, float]:
        with self._lock:
            return dict(self._done)

    def present(self) -> int:
        with self._lock:
            return len(self._present)

    def wait(self, n: int, timeout: float, alive: Callable[[], None] = lambda: None) -> dict[str, float]:
        end = time.monotonic() + timeout
        while len(self.done()) < n:
            alive()
            if time.monotonic() > end:
                raise TimeoutError(f"{len(self.done())} of {n} done after {timeout}s")
            time.sleep(0.2)
        return self.done()

    def wait_gone(self, timeout: float, alive: Callable[[], None] = lambda: None) -> None:
        end = time.monotonic() + timeout
        while self.present():
            alive()
            if time.monotonic() > end:
                raise TimeoutError(f"{self.present()} objects left after {timeout}s")
            time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()

    def _see(self, event_type: str, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        now = time.monotonic()
        with self._lock:
            if event_type == "DELETED":
                self._present.discard(name)
                return
            self._present.add(name)
            if self._predicate is not None and name not in self._done and self._predicate(body):
                self._done[name] = now - self._t0

    def _run(self) -> None:
        group, version, namespace, plural = self._where
        while not self._stop.is_set():
            try:
                listed = self._custom.list_namespaced_custom_object(group, version, namespace, plural)
                with self._lock:
                    self._present = set()
                for item in listed["items"]:
                    self._see("ADDED", item)
                rv = listed["metadata"]["resourceVersion"]
                w = watch.Watch()  # type: ignore[no-untyped-call]
                for event in w.stream(
                    self._custom.list_namespaced_custom_object,
                    group,
                    version,
                    namespace,
                    plural,
                    resource_version=rv,
                    timeout_seconds=120,
                ):
                    self._see(event["type"], event["object"])
                    if self._stop.is_set():
                        w.stop()  # type: ignore[no-untyped-call]
                        return
            except Exception:  # a dropped or expired watch: list again
                time.sleep(0.5)


# ---- the systems' own clocks -----------------------------------------------------------------------------
# A watch in the bench process can fall behind on a loaded two-core machine (it competes with everything it
# measures), so each phase also reports when each object's own status says it finished: the time the
# controller stamped, against the wall clock just before the apply. Both controllers run on this machine,
# so the clocks agree; Argo stamps whole seconds.


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def promoted_stamp(body: Mapping[str, Any]) -> float | None:
    """When a ModelDeployment's current stable revision was promoted, from its status history."""
    status = body.get("status") or {}
    stable = (status.get("stable") or {}).get("name")
    times = [
        _parse_time(h["time"])
        for h in status.get("history") or []
        if h.get("phase") == "Promoted" and h.get("revision") == stable and h.get("time")
    ]
    return max(times) if times else None


def completed_stamp(body: Mapping[str, Any]) -> float | None:
    """When an Argo Rollout last completed (its ``Completed`` condition turning True)."""
    for c in (body.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Completed" and c.get("status") == "True" and c.get("lastTransitionTime"):
            return _parse_time(c["lastTransitionTime"])
    return None


def stamped_seconds(
    items: list[dict[str, Any]], stamp: Callable[[Mapping[str, Any]], float | None], wall_t0: float
) -> list[float]:
    """Seconds from ``wall_t0`` to each object's own completion stamp (objects without one are left out)."""
    out = []
    for item in items:
        at = stamp(item)
        if at is not None:
            out.append(at - wall_t0)
    return out


def stamped_figures(
    items: list[dict[str, Any]], stamp: Callable[[Mapping[str, Any]], float | None], wall_t0: float
) -> dict[str, float]:
    """p50, p99 and max of :func:`stamped_seconds` (nearest rank), and how many objects carried a stamp."""
    times = sorted(stamped_seconds(items, stamp, wall_t0))
    if not times:
        nan = float("nan")
        return {"status_p50_s": nan, "status_p99_s": nan, "status_all_s": nan, "stamped": 0.0}

    def rank(q: float) -> float:
        return times[min(len(times) - 1, max(0, math.ceil(q / 100 * len(times)) - 1))]

    return {
        "status_p50_s": rank(50),
        "status_p99_s": rank(99),
        "status_all_s": times[-1],
        "stamped": float(len(times)),
    }
