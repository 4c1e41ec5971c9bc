"""Events posted off the reconcile path: emit returns at once, posts keep their order, a full buffer drops
and counts instead of blocking, and a failing sink does not stop the poster."""

from __future__ import annotations

import threading
import time

from modeldeploy.controller.events import AsyncEventSink
from modeldeploy.ports import Owner
from modeldeploy.rollout.actions import EventType

OWNER = Owner(namespace="team-a", name="m", uid="u1")


class SlowSink:
    def __init__(self, gate: threading.Event | None = None, fail: set[str] | None = None) -> None:
        self.gate, self.fail = gate, fail or set()
        self.posted: list[str] = []
        self.entered = threading.Event()

    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if reason in self.fail:
            raise RuntimeError("boom")
        self.posted.append(reason)


def test_emit_returns_before_the_post_and_posts_keep_their_order() -> None:
    gate = threading.Event()
    inner = SlowSink(gate)
    sink = AsyncEventSink(inner)
    start = time.monotonic()
    for i in range(5):
        sink.emit(OWNER, EventType.NORMAL, f"R{i}", "m")
    assert time.monotonic() - start < 0.5  # nothing waited for the (blocked) API
    assert inner.posted == []
    gate.set()
    assert sink.flush(5)
    assert inner.posted == ["R0", "R1", "R2", "R3", "R4"]
    sink.stop()


def test_a_full_buffer_drops_and_counts_new_events_and_a_failing_post_does_not_stop_the_rest() -> None:
    gate = threading.Event()
    inner = SlowSink(gate, fail={"R1"})
    dropped: list[int] = []
    sink = AsyncEventSink(inner, buffer=3, on_drop=lambda: dropped.append(1))
    sink.emit(OWNER, EventType.NORMAL, "R0", "m")
    assert inner.entered.wait(5)  # R0 taken by the poster, which now waits on the (blocked) API
    for i in range(1, 6):
        sink.emit(OWNER, EventType.WARNING, f"R{i}", "m")
    assert len(dropped) == 2  # R4 and R5: the buffer holds three
    gate.set()
    assert sink.flush(5)
    assert inner.posted == ["R0", "R2", "R3"]  # R1 failed, the poster went on
    sink.stop()
