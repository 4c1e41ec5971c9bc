"""The worker pool: bounded workers over the work queue, a stuck object never delays the others, a view older
than our own write is never acted on, deletion through the finalizer, per-object state released."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from modeldeploy.api.status import ModelDeploymentStatus, Phase
from modeldeploy.controller.handover import Handover
from modeldeploy.controller.reconciler import Outcome, owner_of
from modeldeploy.controller.workers import Controller, Settings
from modeldeploy.ports import Conflict, Gone, Owner

FIN = "mlops.kdap.io/finalizer"


def body(
    name: str, rv: int, ns: str = "team-a", finalizers: list[str] | None = None, **meta: Any
) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": ns,
            "name": name,
            "uid": f"uid-{name}",
            "resourceVersion": str(rv),
            "finalizers": [FIN] if finalizers is None else finalizers,
            **meta,
        },
        "spec": {},
    }


@dataclass
class FakeReconciler:
    """Writes once per reconcile (rv + 1000) unless told otherwise; ``hang`` blocks chosen objects."""

    write: bool = True
    requeue: float | None = None
    hang: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    raise_for: dict[str, Exception] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)
    finalized: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reconcile(self, body: Mapping[str, Any]) -> Outcome:
        name, rv = body["metadata"]["name"], body["metadata"]["resourceVersion"]
        with self.lock:
            self.seen.append((name, rv))
        if name in self.hang:
            self.release.wait(30)
        if name in self.raise_for:
            raise self.raise_for[name]
        new_rv = str(int(rv) + 1000) if self.write else rv
        return Outcome(ModelDeploymentStatus(phase=Phase.PROMOTED), self.requeue, new_rv)

    def finalize(self, body: Mapping[str, Any]) -> None:
        with self.lock:
            self.finalized.append(body["metadata"]["name"])

    def needs_finalizer(self, body: Mapping[str, Any]) -> bool:
        return bool((body.get("spec") or {}).get("azure", True))

    def forget(self, uid: str) -> None:
        self.forgotten.append(uid)


@dataclass
class FakeFinalizers:
    name: str = FIN
    ensured: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    def ensure(self, owner: Owner, resource_version: str, finalizers: list[str]) -> str:
        if self.name in finalizers:
            return resource_version
        self.ensured.append(owner.name)
        return str(int(resource_version) + 1)

    def release(self, owner: Owner, resource_version: str, finalizers: list[str]) -> None:
        if self.name in finalizers:
            self.released.append(owner.name)


def make(rec: FakeReconciler, workers: int = 4, settle: float = 0.0) -> tuple[Controller, FakeFinalizers]:
    fins = FakeFinalizers()
    ctl = Controller(rec, fins, Handover(settle), Settings(workers=workers, resync=300))
    ctl.on_forget.append(lambda ns, name, uid: rec.forget(uid))
    return ctl, fins


def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_every_one_of_many_objects_is_reconciled_by_a_few_workers_and_released_when_deleted() -> None:
    rec = FakeReconciler()
    ctl, _ = make(rec, workers=4)
    before = threading.active_count()  # other tests' daemon threads may still be alive in this process
    ctl.start()
    try:
        for i in range(300):
            ctl.observed("ADDED", body(f"m{i}", 10 + i))
        until(lambda: len({n for n, _ in rec.seen}) == 300)
        assert len(rec.seen) == 300  # exactly once each: the objects are idle until their resync
        assert threading.active_count() - before <= 4 + 1  # the workers and the watchdog, none per object
        for i in range(300):
            ctl.observed("DELETED", body(f"m{i}", 10 + i))
        until(lambda: ctl.held_objects() == 0 and len(rec.forgotten) == 300)
        assert len(ctl.bodies) == 0
        st = ctl.queue.stats()
        assert (st.depth, st.scheduled) == (0, 0)  # no resync timer left for a deleted object
    finally:
        ctl.stop()


def test_a_stuck_object_holds_one_worker_and_never_delays_the_others() -> None:
    rec = FakeReconciler(hang={"stuck"})
    ctl, _ = make(rec, workers=2)
    ctl.start()
    try:
        ctl.observed("ADDED", body("stuck", 1))
        until(lambda: ("stuck", "1") in rec.seen)
        start = time.monotonic()
        for i in range(50):
            ctl.observed("ADDED", body(f"m{i}", 10 + i))
        until(lambda: len(rec.seen) == 51, timeout=5)
        assert time.monotonic() - start < 2.0
        assert ctl.queue.stats().longest_running > 0
    finally:
        rec.release.set()
        ctl.stop()


def test_our_own_write_coming_back_wakes_nobody_and_an_older_view_is_never_acted_on() -> None:
    rec = FakeReconciler(requeue=None)
    ctl, _ = make(rec, workers=1)
    ctl.observed("ADDED", body("m", 5))
    assert ctl.queue.get(timeout=0) == ("team-a", "m")
    ctl.process(("team-a", "m"))
    ctl.queue.done(("team-a", "m"))
    assert rec.seen == [("m", "5")]  # it wrote 1005
    # A child's event wakes the object before the watch delivered rv 1005: the cached body is the past.
    ctl.wake(("team-a", "m"))
    assert ctl.queue.get(timeout=0) == ("team-a", "m")
    ctl.process(("team-a", "m"))
    ctl.queue.done(("team-a", "m"))
    assert rec.seen == [("m", "5")]  # not acted on
    # Our own write arrives: the deferred object is reconciled on it.
    ctl.observed("MODIFIED", body("m", 1005))
    assert ctl.queue.get(timeout=0) == ("team-a", "m")
    ctl.process(("team-a", "m"))
    ctl.queue.done(("team-a", "m"))
    assert rec.seen[-1] == ("m", "1005")
    # Its write (2005) coming back is not news: nothing is queued.
    ctl.observed("MODIFIED", body("m", 2005))
    assert ctl.queue.get(timeout=0) is None
    # Someone else's change (a newer version) is.
    ctl.observed("MODIFIED", body("m", 2006))
    assert ctl.queue.get(timeout=0) == ("team-a", "m")


def test_a_kubernetes_target_needs_no_finalizer_its_children_go_with_it() -> None:
    rec = FakeReconciler()
    ctl, fins = make(rec, workers=1)
    plain = body("k", 7, finalizers=[])
    plain["spec"] = {"azure": False}
    ctl.observed("ADDED", plain)
    ctl.process(("team-a", "k"))
    assert fins.ensured == []
    assert rec.seen == [("k", "7")]


def test_the_finalizer_is_added_first_and_deletion_cleans_up_then_releases() -> None:
    rec = FakeReconciler()
    ctl, fins = make(rec, workers=1)
    ctl.observed("ADDED", body("m", 7, finalizers=[]))
    key = ("team-a", "m")
    ctl.process(key)
    assert fins.ensured == ["m"]
    assert rec.seen == [("m", "8")]  # reconciled on the version the finalizer write produced
    ctl.observed("MODIFIED", body("m", 2000, deletionTimestamp="2026-01-01T00:00:00Z"))
    ctl.process(key)
    assert rec.finalized == ["m"]
    assert fins.released == ["m"]
    # Deleted by someone else before we ever held it: nothing of ours to clean up.
    ctl.observed("MODIFIED", body("n", 3, finalizers=[], deletionTimestamp="2026-01-01T00:00:00Z"))
    ctl.process(("team-a", "n"))
    assert rec.finalized == ["m"]
    assert fins.released == ["m"]


def test_a_conflict_retries_with_backoff_and_a_vanished_object_is_forgotten() -> None:
    rec = FakeReconciler(raise_for={"c": Conflict("changed"), "g": Gone("gone")})
    ctl, _ = make(rec, workers=1)
    ctl.observed("ADDED", body("c", 1))
    ctl.observed("ADDED", body("g", 1))
    ctl.process(("team-a", "c"))
    assert ctl.queue.failures(("team-a", "c")) == 1
    assert ctl.queue.stats().scheduled == 1
    ctl.process(("team-a", "g"))
    assert ctl.bodies.get(("team-a", "g")) is None
    assert rec.forgotten == ["uid-g"]


def test_a_paused_replica_does_nothing_until_resumed_and_then_waits_the_handover() -> None:
    rec = FakeReconciler()
    ctl, _ = make(rec, workers=2, settle=0.0)
    ctl.set_paused(True)
    ctl.start()
    try:
        ctl.observed("ADDED", body("m", 1))
        time.sleep(0.5)
        assert rec.seen == []
        ctl.handover.settle = 0.3
        resumed = time.monotonic()
        ctl.set_paused(False)
        until(lambda: rec.seen == [("m", "1")])
        assert time.monotonic() - resumed >= 0.3
    finally:
        ctl.stop()


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="workers must be 1 or more, got 0"):
        Settings(workers=0)
    with pytest.raises(ValueError, match="resync must be more than 0 seconds"):
        Settings(resync=0)


def test_owner_of_reads_the_key_fields() -> None:
    assert owner_of(body("m", 1)) == Owner("team-a", "m", "uid-m")


def test_only_azure_targets_hold_a_finalizer() -> None:
    from modeldeploy.controller.reconciler import Reconciler

    assert Reconciler.needs_finalizer({"spec": {"target": {"type": "azureml"}}}) is True
    assert Reconciler.needs_finalizer({"spec": {"target": {"type": "kubernetes"}}}) is False
    assert Reconciler.needs_finalizer({"spec": {}}) is False
