"""Every SDK call goes through here: circuit breaker per endpoint, then retries with backoff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from azure.core.exceptions import ResourceNotFoundError

from modeldeploy.backends.azureml.breaker import CircuitBreaker
from modeldeploy.backends.azureml.retry import AZURE_RETRY, call_with_retry, is_transient
from modeldeploy.ports import BackendError
from modeldeploy.retry import RetryPolicy

T = TypeVar("T")


@dataclass
class Guard:
    retry: RetryPolicy = AZURE_RETRY
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)

    def call(self, key: str, action: str, fn: Callable[[], T]) -> T:
        self.breaker.check(key)
        try:
            result = call_with_retry(self.retry, action, fn)
        except ResourceNotFoundError:
            self.breaker.record_success(key)
            raise
        except BackendError as error:
            if error.__cause__ is not None and is_transient(error.__cause__):
                self.breaker.record_failure(key, str(error))
            raise
        self.breaker.record_success(key)
        return result
