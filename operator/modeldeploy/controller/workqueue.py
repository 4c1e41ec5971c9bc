"""A de-duplicating, rate-limited work queue of object keys, fed by watch events and drained by a bounded
pool of workers (the semantics of client-go's ``workqueue``, which controller-runtime and Argo Rollouts use).

- A key waiting in the queue is there once, however often it is added (``dirty``).
- A key being processed is never handed to a second worker; an add while it is processed is remembered and
  the key comes back once :meth:`done` is called, so one object is reconciled by one worker at a time and a
  change seen mid-reconcile is never lost.
- ``add_after`` is a timer (a pause's end, the next analysis): a key waits at most until its earliest timer.
- ``add_rate_limited`` backs off exponentially per key on errors until :meth:`forget`.
- Keys come out in the order they became ready (first in, first out), so no object can be starved by others
  that keep being re-added: an object re-added while waiting keeps its place.

Cost is per key in the queue, never per object known: an idle object has no entry anywhere but in the timer
heap (one tuple). Depth, the age of the oldest waiting key and the longest running reconcile are exposed
for metrics, so work that waits never waits silently.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from modeldeploy.retry import RetryPolicy

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class QueueStats:
    depth: int  # keys ready and waiting for a worker
    oldest_age: float  # seconds the longest-waiting ready key has waited (0 when none)
    processing: int  # keys a worker holds now
    longest_running: float  # seconds the longest current reconcile has run (0 when none)
    scheduled: int  # keys waiting on a timer


class ShutDown(Exception):
    """The queue was shut down: the worker should exit."""


class WorkQueue(Generic[K]):
    def __init__(
        self, backoff: RetryPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        # Per object: 0.5 s doubling up to 5 minutes (client-go: 5 ms to 1000 s).
        self._backoff = backoff or RetryPolicy(base_delay=0.5, max_delay=300.0)
        self._cond = threading.Condition()
        # Ready keys in FIFO order, each with the moment it became ready (for the oldest-age metric).
        self._ready: OrderedDict[K, float] = OrderedDict()
        self._processing: dict[K, float] = {}  # key -> moment a worker took it
        self._readd: set[K] = set()  # added while processing: ready again once done
        self._timers: dict[K, float] = {}  # key -> earliest moment it is due
        self._heap: list[tuple[float, int, K]] = []  # (due, seq, key); stale entries skipped lazily
        self._seq = 0
        self._failures: dict[K, int] = {}
        self._shutdown = False
        self.adds = 0  # total adds, de-duplicated or not (a counter for metrics)
        self.retries = 0

    # ---- producers ----------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        with self._cond:
            self.adds += 1
            self._add_locked(key, self._clock())

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            due = self._clock() + delay
            current = self._timers.get(key)
            if current is not None and current <= due:
                return  # an earlier timer already covers this one
            self._timers[key] = due
            self._seq += 1
            heapq.heappush(self._heap, (due, self._seq, key))
            self._cond.notify()

    def add_rate_limited(self, key: K) -> float:
        """Re-add after the key's next backoff delay; returns that delay."""
        with self._cond:
            n = self._failures[key] = self._failures.get(key, 0) + 1
            self.retries += 1
        delay = self._backoff.delay(n)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """The key succeeded (or is gone): its backoff starts from the beginning next time."""
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def discard(self, key: K) -> None:
        """Drop every trace of a key (the object was deleted): timers, backoff, a pending re-add."""
        with self._cond:
            self._failures.pop(key, None)
            self._timers.pop(key, None)
            self._readd.discard(key)
            self._ready.pop(key, None)

    # ---- consumers ----------------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> K | None:
        """The next ready key (marked processing), or None after ``timeout``. Raises :class:`ShutDown`."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while True:
                if self._shutdown:
                    raise ShutDown()
                now = self._clock()
                self._fire_timers_locked(now)
                if self._ready:
                    key, _ = self._ready.popitem(last=False)
                    self._processing[key] = now
                    return key
                wait = None if deadline is None else deadline - now
                if wait is not None and wait <= 0:
                    return None
                if self._heap:
                    until_timer = self._heap[0][0] - now
                    wait = until_timer if wait is None else min(wait, until_timer)
                self._cond.wait(timeout=None if wait is None else max(wait, 0.0))

    def done(self, key: K) -> None:
        with self._cond:
            self._processing.pop(key, None)
            if key in self._readd:
                self._readd.discard(key)
                self._add_locked(key, self._clock())

    def shut_down(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    # ---- introspection ------------------------------------------------------------------------------

    def stats(self) -> QueueStats:
        with self._cond:
            now = self._clock()
            self._fire_timers_locked(now)
            oldest = now - next(iter(self._ready.values())) if self._ready else 0.0
            longest = now - min(self._processing.values()) if self._processing else 0.0
            return QueueStats(len(self._ready), oldest, len(self._processing), longest, len(self._timers))

    def __len__(self) -> int:
        with self._cond:
            return len(self._ready)

    # ---- internals ----------------------------------------------------------------------------------

    def _add_locked(self, key: K, now: float) -> None:
        if self._shutdown:
            return
        # A key made ready now no longer needs its timer: the reconcile it triggers sets the next one.
        self._timers.pop(key, None)
        if key in self._processing:
            self._readd.add(key)
            return
        if key not in self._ready:  # de-duplicated: an object already waiting keeps its place
            self._ready[key] = now
            self._cond.notify()

    def _fire_timers_locked(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._timers.get(key) != due:
                continue  # superseded by an earlier timer, or cleared by an add
            del self._timers[key]
            self._add_locked(key, now)
