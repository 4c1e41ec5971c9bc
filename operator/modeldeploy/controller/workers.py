"""The controller loop: watch events in, a de-duplicating work queue, a bounded pool of worker threads.

Cost grows with work, not with objects: an idle ModelDeployment is one entry in the body cache and one
timer (its resync); nothing runs for it until an event or its timer makes it ready. Workers are threads
because the Kubernetes client and the Azure SDKs are synchronous; a reconcile is mostly waiting on I/O, so a
handful of threads keeps both cores busy without one object's slow backend holding up the others (it holds
one worker; the queue's longest-running figure and a warning say so).

A worker reconciles from the cached body. Two rules keep it on a current view:
- after it writes, it knows the resourceVersion it wrote; a cached body older than that (an etcd revision,
  so a number) is a view from before its own write: the key waits for the watch instead of conflicting;
- its own write coming back through the watch wakes nobody (the pass that wrote already decided on it).

Deletion is a finalizer this loop owns: the same queue and workers remove an object's children and then
release it, so deleting a thousand objects is bounded work too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from modeldeploy.controller.bodies import BodyCache, Key, key_of, rv_number
from modeldeploy.controller.handover import Handover
from modeldeploy.controller.reconciler import Outcome, owner_of
from modeldeploy.controller.workqueue import ShutDown, WorkQueue
from modeldeploy.observability.logs import bound
from modeldeploy.ports import Conflict, Finalizers, Gone

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
# Children are watched, so the resync only catches what no watch reports (an Azure endpoint edited in the
# portal); Argo Rollouts resyncs every 15 minutes, we do every 5.
DEFAULT_RESYNC_SECONDS = 300.0
STALE_RECHECK_SECONDS = 2.0
SLOW_RECONCILE_SECONDS = 60.0


class ReconcilerLike(Protocol):
    def reconcile(self, body: Mapping[str, Any]) -> Outcome: ...

    def finalize(self, body: Mapping[str, Any]) -> None: ...

    def needs_finalizer(self, body: Mapping[str, Any]) -> bool: ...

    def forget(self, uid: str) -> None: ...


@dataclass
class Settings:
    workers: int = DEFAULT_WORKERS
    resync: float = DEFAULT_RESYNC_SECONDS

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be 1 or more, got {self.workers}")
        if self.resync <= 0:
            raise ValueError(f"resync must be more than 0 seconds, got {self.resync}")


@dataclass
class Controller:
    reconciler: ReconcilerLike
    finalizers: Finalizers
    handover: Handover
    settings: Settings = field(default_factory=Settings)
    queue: WorkQueue[Key] = field(default_factory=WorkQueue)
    bodies: BodyCache = field(default_factory=BodyCache)
    on_forget: list[Callable[[str, str, str], None]] = field(default_factory=list)  # (ns, name, uid)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[Key, int] = {}  # the last resourceVersion this operator wrote, per object
        self._deferred: set[Key] = set()  # waiting for the watch to deliver our own write
        self._uids: dict[Key, str] = {}
        self._active = threading.Event()
        self._active.set()
        self._settle_logged = False
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # ---- fed by the watch (called on kopf's event loop: never blocks) -------------------------------

    def observed(self, event_type: str, body: Mapping[str, Any]) -> None:
        key = key_of(body)
        if event_type == "DELETED":
            self.bodies.remove(key)
            self.queue.add(key)  # the worker finds no body and releases the object's state
            return
        self.bodies.put(body)
        with self._lock:
            self._uids[key] = str(body["metadata"].get("uid", ""))
            own = rv_number(body["metadata"].get("resourceVersion")) == self._written.get(key)
            if own and key not in self._deferred:
                return
        self.queue.add(key)

    def wake(self, key: Key) -> None:
        self.queue.add(key)

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def wake_namespaces(self, namespaces: set[str]) -> int:
        """A policy or a namespace's labels changed: every object there gets a new verdict."""
        keys = [k for k in self.bodies.key_list() if k[0] in namespaces] if namespaces else []
        for key in keys:
            self.queue.add(key)
        return len(keys)

    # ---- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        for i in range(self.settings.workers):
            t = threading.Thread(target=self._work, name=f"modeldeploy-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._watchdog, name="modeldeploy-watchdog", daemon=True)
        t.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.queue.shut_down()
        self._active.set()  # paused workers must see the shutdown
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(end - time.monotonic(), 0.0))

    def set_paused(self, paused: bool) -> None:
        """kopf peering paused this replica for a peer (or resumed it): workers stop between reconciles."""
        if paused:
            self._active.clear()
            self.handover.paused()
            log.info("peering: paused; workers stop after their current reconcile")
        else:
            with self._lock:
                self._settle_logged = False
            self._active.set()

    # ---- workers ------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            self._active.wait()
            self._settle()
            try:
                key = self.queue.get(timeout=0.5)
            except ShutDown:
                return
            if key is None:
                continue
            try:
                if not self._active.is_set():
                    self.queue.add_after(key, 0.1)  # paused after it was taken: leave it for later
                    continue
                with bound(*key):  # every line this reconcile logs names its object
                    self.process(key)
            except Exception:
                log.exception("reconcile of %s/%s failed", *key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def _settle(self) -> None:
        left = self.handover.act_after() - time.monotonic()
        if left <= 0:
            return
        with self._lock:
            first, self._settle_logged = not self._settle_logged, True
        if first:
            log.info(
                "handover: waiting %.1fs before acting, so a replica this one displaces has stopped", left
            )
        time.sleep(left)

    def process(self, key: Key) -> None:
        body = self.bodies.get(key)
        if body is None:
            self._forget(key)
            return
        meta = body["metadata"]
        read_rv = str(meta["resourceVersion"])
        with self._lock:
            written = self._written.get(key)
            number = rv_number(read_rv)
            if written is not None and number is not None and number < written:
                # The watch has not delivered our own last write: that view is from before it.
                self._deferred.add(key)
                stale = True
            else:
                self._deferred.discard(key)
                stale = False
        if stale:
            self.queue.add_after(key, STALE_RECHECK_SECONDS)
            return
        owner = owner_of(body)
        finalizers = list(meta.get("finalizers") or [])
        try:
            if meta.get("deletionTimestamp"):
                # Without our finalizer there is nothing for us to clean up: the garbage collector takes the
                # children (Kubernetes targets), or the object was deleted before we ever held it.
                if self.finalizers.name in finalizers:
                    self.reconciler.finalize(body)
                    self.finalizers.release(owner, read_rv, finalizers)
                self.queue.forget(key)
                return
            rv = read_rv
            if self.reconciler.needs_finalizer(body):
                rv = self.finalizers.ensure(owner, read_rv, finalizers)
            if rv != read_rv:
                self._note_written(key, rv)
                meta["resourceVersion"] = rv
            started = time.monotonic()
            outcome = self.reconciler.reconcile(body)
        except Conflict:
            self.queue.add_rate_limited(key)  # the watch brings the newer view; this is the safety net
            return
        except Gone:
            self.bodies.remove(key)
            self._forget(key)
            return
        if outcome.resource_version != rv:
            self._note_written(key, outcome.resource_version)
        self.queue.forget(key)
        delay = outcome.requeue_after if outcome.requeue_after is not None else self.settings.resync
        log.info(
            "reconciled %s/%s in %.3fs: phase=%s actions=%s next in %.1fs",
            owner.namespace,
            owner.name,
            time.monotonic() - started,
            outcome.status.phase,
            ",".join(outcome.actions_run) or "-",
            delay,
        )
        self.queue.add_after(key, max(delay, 0.05))

    def _note_written(self, key: Key, rv: str) -> None:
        number = rv_number(rv)
        with self._lock:
            if number is None:
                self._written.pop(key, None)
            else:
                self._written[key] = number

    def _forget(self, key: Key) -> None:
        """The object is gone: release everything held for it."""
        with self._lock:
            self._written.pop(key, None)
            self._deferred.discard(key)
            uid = self._uids.pop(key, "")
        self.queue.discard(key)
        for hook in self.on_forget:
            hook(key[0], key[1], uid)

    def _watchdog(self) -> None:
        while not self._stopping.wait(10.0):
            stats = self.queue.stats()
            if stats.longest_running > SLOW_RECONCILE_SECONDS:
                log.warning(
                    "a reconcile has run for %.0fs (a backend call that hangs?); %d other workers go on",
                    stats.longest_running,
                    self.settings.workers - 1,
                )

    def held_objects(self) -> int:
        """Objects with per-object state here (for tests: it must fall to 0 when all are deleted)."""
        with self._lock:
            return len(self._uids) + len(self._written)
