"""When each object first reached a state, from a watch (not from polling full lists).

Polling ``kubectl get -o json`` for a thousand objects takes seconds of CPU per poll on a loaded machine, so
every object seen done in the same poll got the same time (p50 == p99). A watch delivers each change as it
happens; the first time an object satisfies the predicate is its time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
