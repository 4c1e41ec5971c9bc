"""When a replica may act after it starts or resumes.

kopf peering pauses a replica once it sees a higher-priority peer in the KopfPeering object, but the replica
that becomes active does not wait for that: it acts as soon as it has read the object, while the replica it
displaces may not have seen it yet, or may be half-way through a reconcile (paused daemons stop between
reconciles, not inside one). Two replicas started in the same instant both act for that moment. The
status compare-and-swap keeps their status writes apart, but a stale traffic change from the displaced
replica could still land after the new one's. So a replica that becomes active waits ``settle`` seconds
before its first reconcile: long enough for the displaced one to see it and stop, as a lease-based leader
election waits out the lease.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEFAULT_SETTLE_SECONDS = 5.0


class Handover:
    """The moment this replica last became active; thread-safe (daemons run in threads)."""

    def __init__(self, settle: float, clock: Callable[[], float] = time.monotonic) -> None:
        if settle < 0:
            raise ValueError(f"peering settle must be 0 or more seconds, got {settle}")
        self.settle, self._clock = settle, clock
        self._lock = threading.Lock()
        # The process starting counts as becoming active: a peer it displaces has not seen it yet.
        self._active_since: float | None = clock()

    def act_after(self) -> float:
        """The monotonic time before which a daemon that starts now must not reconcile."""
        with self._lock:
            if self._active_since is None:  # the first daemon since a pause: the operator just resumed
                self._active_since = self._clock()
            return self._active_since + self.settle

    def paused(self) -> None:
        """kopf paused this replica in favour of a peer: the next daemon start is a resumption."""
        with self._lock:
            self._active_since = None
