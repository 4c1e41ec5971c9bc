"""Events posted off the reconcile path, as client-go's event broadcaster does.

An Event is a record for people, never part of the rollout's state (that is the status, written first), so
a worker should not wait for one: a canary step's pass was a route write, a status write and one or two
Event posts, and the Events were a third of its requests. One thread posts them in order from a bounded
buffer; when the API is so slow that the buffer fills, new Events are dropped and counted (the
``modeldeploy_events_dropped_total`` metric), never the reconcile held.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from modeldeploy.ports import EventSink, Owner
from modeldeploy.rollout.actions import EventType

log = logging.getLogger(__name__)

BUFFER = 10_000


class AsyncEventSink:
    def __init__(
        self, inner: EventSink, buffer: int = BUFFER, on_drop: Callable[[], None] = lambda: None
    ) -> None:
        self._inner, self._buffer, self._on_drop = inner, buffer, on_drop
        self._pending: deque[tuple[Owner, EventType, str, str]] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="modeldeploy-events", daemon=True)
        self._thread.start()

    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None:
        with self._cond:
            if len(self._pending) >= self._buffer:
                self._on_drop()
                log.warning("event buffer full: dropped %s for %s/%s", reason, owner.namespace, owner.name)
                return
            self._pending.append((owner, type, reason, message))
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every Event emitted so far was posted (or failed); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopped)
                if self._stopped and not self._pending:
                    return
                item = self._pending.popleft()
                self._busy = True
            try:
                self._inner.emit(*item)
            except Exception:  # the sink logs its own API errors; anything else must not end the thread
                log.exception("posting event %s failed", item[2])
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
