"""Retry timing, defined once for every caller: the work queue's per-object backoff, Azure management calls
(which also honour Retry-After) and metric queries. Sleep and jitter are injected so tests never wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A server's Retry-After is honoured up to this. A call is retried inside one reconcile: during a rollback
# the failed revision keeps its traffic until the call that removes it succeeds, so an hour-long
# Retry-After (or a date far ahead) must not hold it, or the worker, for an hour.
MAX_RETRY_AFTER = 60.0


def no_jitter() -> float:
    return 1.0


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries; before try n+1 wait ``base_delay * 2**(n-1)`` capped at ``max_delay``, scaled by
    ``0.5 + jitter()/2`` (jitter in [0, 1]: 1 means none). ``timeout_seconds`` bounds one try, for callers
    whose client takes a timeout. ``max_retry_after`` caps how long a server's Retry-After may make us
    wait."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 60.0
    timeout_seconds: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = field(default=no_jitter)
    max_retry_after: float = MAX_RETRY_AFTER

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"a retry policy needs at least 1 attempt, got {self.attempts}")
        if not 0 <= self.base_delay <= self.max_delay:
            got = f"got {self.base_delay} and {self.max_delay}"
            raise ValueError(f"a retry policy needs 0 <= base_delay <= max_delay, {got}")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Backoff after failure ``attempt`` (1-based); a server's Retry-After wins when it asks for more, up
        to ``max_retry_after``."""
        backoff = min(self.max_delay, self.base_delay * 2.0 ** min(max(attempt - 1, 0), 62))
        backoff *= 0.5 + self.jitter() / 2
        if retry_after is None:
            return backoff
        return max(min(retry_after, self.max_retry_after), backoff)
