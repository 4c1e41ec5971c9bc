"""The metric-provider protocol and the retry loop every provider shares.

A provider answers "this query over this window: one number, or no number and why". Transient failures
(timeouts, connection errors, throttling, 5xx) are retried a bounded number of times; what is still missing
after that is Inconclusive, never a failure of the rollout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from modeldeploy.retry import RetryPolicy as RetryPolicy

from .types import MetricValue


class MetricProvider(Protocol):
    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        """Evaluate ``query`` over [start, end]; never raises for missing data or transient errors."""
        ...


class TransientError(Exception):
    """Worth another attempt: a timeout, a refused connection, throttling, a server error."""


def with_retries(
    what: str,
    policy: RetryPolicy,
    call: Callable[[], MetricValue],
    sleep: Callable[[float], None] | None = None,
) -> MetricValue:
    last = ""
    for attempt in range(policy.attempts):
        try:
            return call()
        except TransientError as exc:
            last = str(exc)
            if attempt + 1 < policy.attempts:
                (sleep or policy.sleep)(policy.delay(attempt + 1))
    return MetricValue(None, f"{what}: no answer after {policy.attempts} attempts: {last}")
