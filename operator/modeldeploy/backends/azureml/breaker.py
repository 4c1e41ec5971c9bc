"""A circuit breaker per endpoint: stop calling Azure for a while once calls keep failing.

After ``threshold`` consecutive transient failures the circuit opens for ``cooldown`` seconds; the next call
after that is a trial (half-open) whose outcome closes or reopens it. Rollouts on other endpoints go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from modeldeploy.ports import BackendError


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    last_error: str = ""


@dataclass
class CircuitBreaker:
    threshold: int = 5
    cooldown: float = 120.0
    clock: Callable[[], float] = time.monotonic
    _circuits: dict[str, _Circuit] = field(default_factory=dict)

    def check(self, key: str) -> None:
        """Raise a retryable BackendError while the circuit for ``key`` is open."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return
        remaining = circuit.opened_at + self.cooldown - self.clock()
        if remaining > 0:
            raise BackendError(
                reason="AzureCircuitOpen",
                message=(
                    f"calls to {key} are paused for {remaining:.0f}s after {circuit.failures} consecutive "
                    f"failures; last: {circuit.last_error}"
                ),
                retryable=True,
                details={"endpoint": key, "retryAfterSeconds": f"{remaining:.0f}"},
            )

    def record_success(self, key: str) -> None:
        self._circuits.pop(key, None)

    def record_failure(self, key: str, error: str) -> None:
        circuit = self._circuits.setdefault(key, _Circuit())
        circuit.failures += 1
        circuit.last_error = error
        half_open = circuit.opened_at is not None
        if half_open or circuit.failures >= self.threshold:
            circuit.opened_at = self.clock()

    def is_open(self, key: str) -> bool:
        circuit = self._circuits.get(key)
        return (
            circuit is not None
            and circuit.opened_at is not None
            and (circuit.opened_at + self.cooldown > self.clock())
        )
