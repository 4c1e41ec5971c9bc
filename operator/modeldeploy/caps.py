"""Run-time caps on what the operator reads and keeps, defined once with the message each refusal gives.

The operator is shared by every team on a cluster; one ModelDeployment must not make it read a gigabyte
of HTTP response, download a year of data or fill its status with a file's contents. Each cap raises
``LimitExceeded`` (a ValueError: the analysis reports it as an Error with this message, never a crash)
naming the limit, so the author can see which one and by how much.
"""

from __future__ import annotations

from typing import Protocol

KIB, MIB = 1024, 1024 * 1024

# A Prometheus or Azure Monitor answer is one number; a retraining webhook's answer is not used at all.
MAX_HTTP_RESPONSE = 1 * MIB
# One data file, and all files of one window together (the reference and the live window each).
MAX_DATA_FILE = 256 * MIB
MAX_DATA_TOTAL = 1024 * MIB
MAX_DATA_FILES = 5000
# Hour folders of one live window (the API allows 168h; an hour folder per hour).
MAX_LIVE_HOURS = 168
# (A server's Retry-After is capped in modeldeploy.retry: MAX_RETRY_AFTER.)


class LimitExceeded(ValueError):
    """A cap was hit; the message names the cap and the value."""


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_capped(stream: _Readable, limit: int, what: str) -> bytes:
    """At most ``limit`` bytes of ``stream``; more is ``LimitExceeded`` (one byte past the cap is read to
    tell, never the whole body)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded(f"{what} is larger than {_size(limit)}, the operator's limit")
    return data


def check_size(size: int | None, limit: int, what: str) -> None:
    if size is not None and size > limit:
        raise LimitExceeded(f"{what} is {_size(size)}, larger than {_size(limit)}, the operator's limit")


def _size(n: int) -> str:
    if n >= MIB:
        return f"{n / MIB:.0f} MiB" if n % MIB == 0 else f"{n / MIB:.1f} MiB"
    return f"{n / KIB:.0f} KiB" if n >= KIB else f"{n} bytes"
