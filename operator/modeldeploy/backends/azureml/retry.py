"""Retries of transient Azure failures with exponential backoff that honours ``Retry-After``.

429 and 5xx responses, timeouts and dropped connections are retried; everything else is mapped at once to a
BackendError carrying the Azure error code and message. Sleep, clock and jitter are injected so tests never
wait.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from modeldeploy.ports import BackendError
from modeldeploy.retry import RetryPolicy

T = TypeVar("T")
# Management calls: five tries from 1 s up to a minute, jittered so operators spread apart.
AZURE_RETRY = RetryPolicy(attempts=5, base_delay=1.0, max_delay=60.0, jitter=random.random)

_ROLE_HINT = (
    "the operator's identity needs 'AzureML Data Scientist' on the workspace and "
    "'Monitoring Contributor' (autoscale and diagnostic settings write) on the resource group"
)


def retry_after_seconds(error: HttpResponseError, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds or an HTTP date; also the ``retry-after-ms`` headers ARM sends."""
    headers: Mapping[str, str] = getattr(error.response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
        return None if parsed is None else max(0.0, parsed.timestamp() - now())


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return True  # connection failures and client-side timeouts
    if isinstance(error, HttpResponseError):
        status = error.status_code or 0
        return status == 429 or status >= 500 or status == 408
    return False


def error_code(error: BaseException) -> tuple[str, str]:
    """The Azure error code and message, as precise as the exception allows."""
    if isinstance(error, HttpResponseError):
        odata = error.error
        if odata is not None and odata.code:
            return odata.code, odata.message or str(error)
        return f"HTTP{error.status_code}", error.reason or str(error)
    return type(error).__name__, str(error)


def to_backend_error(error: BaseException, action: str, *, exhausted: bool = False) -> BackendError:
    """Map any SDK failure to a BackendError whose reason is the Azure code (retryable when transient)."""
    code, message = error_code(error)
    details = {"azureErrorCode": code, "action": action}
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        details["httpStatus"] = str(error.status_code)
    retryable = is_transient(error)
    if isinstance(error, ClientAuthenticationError) or (
        isinstance(error, HttpResponseError) and error.status_code in (401, 403)
    ):
        message = f"{message} ({_ROLE_HINT})"
    elif isinstance(error, HttpResponseError) and error.status_code == 409:
        retryable = True  # another operation holds the resource; it will finish
    suffix = " after all retries" if exhausted else ""
    return BackendError(
        reason=code, message=f"{action} failed{suffix}: {message}", retryable=retryable, details=details
    )


def call_with_retry(policy: RetryPolicy, action: str, fn: Callable[[], T]) -> T:
    """Run ``fn``; retry transient failures; raise a BackendError for the rest or when attempts run out."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except ResourceNotFoundError:
            raise  # an answer, not a failure: callers treat it as "missing"
        except AzureError as error:
            if not is_transient(error):
                raise to_backend_error(error, action) from error
            if attempt == policy.attempts:
                raise to_backend_error(error, action, exhausted=True) from error
            after = retry_after_seconds(error) if isinstance(error, HttpResponseError) else None
            policy.sleep(policy.delay(attempt, after))
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
