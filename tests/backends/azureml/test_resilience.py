"""Retry with backoff honouring Retry-After, the error mapping, and the per-endpoint circuit breaker."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.core.exceptions import ServiceResponseTimeoutError

from modeldeploy.backends.azureml.breaker import CircuitBreaker
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.retry import call_with_retry, retry_after_seconds
from modeldeploy.ports import BackendError
from modeldeploy.retry import RetryPolicy
from tests.backends.azureml.fakes import http_error


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _policy(clock: Clock, attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(
        attempts=attempts, base_delay=1.0, max_delay=30.0, sleep=clock.sleep, jitter=lambda: 1.0
    )


def _failing(*errors: BaseException, result: str = "ok") -> Callable[[], str]:
    queue = list(errors)

    def call() -> str:
        if queue:
            raise queue.pop(0)
        return result

    return call


def test_429_is_retried_after_the_servers_retry_after() -> None:
    clock = Clock()
    fn = _failing(http_error(429, "TooManyRequests", "slow down", retry_after="7"))
    assert call_with_retry(_policy(clock), "get endpoint", fn) == "ok"
    assert clock.slept == [7.0]


def test_backoff_is_exponential_without_retry_after() -> None:
    clock = Clock()
    fn = _failing(*(http_error(503, "ServiceUnavailable", "busy") for _ in range(3)))
    assert call_with_retry(_policy(clock), "get endpoint", fn) == "ok"
    assert clock.slept == [1.0, 2.0, 4.0]


def test_exponential_backoff_wins_over_a_shorter_retry_after() -> None:
    clock = Clock()
    errors = [http_error(500, "InternalServerError", "x", retry_after="1") for _ in range(3)]
    call_with_retry(_policy(clock), "get", _failing(*errors))
    assert clock.slept == [1.0, 2.0, 4.0]


def test_retry_after_as_http_date() -> None:
    err = http_error(429, "TooManyRequests", "x", retry_after="Wed, 21 Oct 2015 07:28:30 GMT")
    assert retry_after_seconds(err, now=lambda: 1445412480.0) == 30.0


def test_timeouts_are_retried() -> None:
    clock = Clock()
    fn = _failing(ServiceResponseTimeoutError("read timed out"))
    assert call_with_retry(_policy(clock), "get", fn) == "ok"
    assert len(clock.slept) == 1


def test_exhausted_retries_carry_the_azure_code_and_message() -> None:
    clock = Clock()
    fn = _failing(*(http_error(503, "ServiceUnavailable", "region busy") for _ in range(4)))
    with pytest.raises(BackendError) as info:
        call_with_retry(_policy(clock), "update endpoint budget-ep", fn)
    assert info.value.reason == "ServiceUnavailable"
    assert info.value.retryable is True
    assert "update endpoint budget-ep failed after all retries: region busy" in info.value.message
    assert info.value.details["httpStatus"] == "503"
    assert len(clock.slept) == 3


def test_client_errors_are_not_retried_and_not_retryable() -> None:
    clock = Clock()
    fn = _failing(http_error(400, "BadArgument", "instance type Standard_XYZ is not supported"))
    with pytest.raises(BackendError) as info:
        call_with_retry(_policy(clock), "create deployment", fn)
    assert (info.value.reason, info.value.retryable) == ("BadArgument", False)
    assert "Standard_XYZ" in info.value.message
    assert clock.slept == []


def test_forbidden_names_the_roles_to_grant() -> None:
    fn = _failing(http_error(403, "AuthorizationFailed", "no access"))
    with pytest.raises(BackendError) as info:
        call_with_retry(_policy(Clock()), "create deployment", fn)
    assert "AzureML Data Scientist" in info.value.message
    assert info.value.retryable is False


def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    clock = Clock()
    guard = Guard(
        retry=_policy(clock, attempts=1), breaker=CircuitBreaker(threshold=2, cooldown=60, clock=clock)
    )
    calls: list[int] = []

    def boom() -> str:
        calls.append(1)
        raise http_error(500, "InternalServerError", "boom")

    for _ in range(2):
        with pytest.raises(BackendError, match="boom"):
            guard.call("budget-ep", "get", boom)
    with pytest.raises(BackendError) as info:
        guard.call("budget-ep", "get", boom)
    assert info.value.reason == "AzureCircuitOpen"
    assert "budget-ep" in info.value.message
    assert "boom" in info.value.message
    assert len(calls) == 2  # the open circuit did not call Azure
    assert guard.call("other-ep", "get", lambda: "ok") == "ok"  # per endpoint
    clock.now += 61
    assert guard.call("budget-ep", "get", lambda: "ok") == "ok"  # the trial call closes it
    assert not guard.breaker.is_open("budget-ep")


def test_failed_half_open_trial_reopens_at_once() -> None:
    clock = Clock()
    guard = Guard(
        retry=_policy(clock, attempts=1), breaker=CircuitBreaker(threshold=1, cooldown=60, clock=clock)
    )
    with pytest.raises(BackendError):
        guard.call("ep", "get", _failing(http_error(502, "BadGateway", "x")))
    clock.now += 61
    with pytest.raises(BackendError, match="BadGateway"):
        guard.call("ep", "get", _failing(http_error(502, "BadGateway", "x")))
    assert guard.breaker.is_open("ep")


def test_client_errors_do_not_trip_the_breaker() -> None:
    clock = Clock()
    guard = Guard(
        retry=_policy(clock, attempts=1), breaker=CircuitBreaker(threshold=1, cooldown=60, clock=clock)
    )
    with pytest.raises(BackendError):
        guard.call("ep", "create", _failing(http_error(400, "BadArgument", "x")))
    assert not guard.breaker.is_open("ep")
