"""One small thread pool for the numerical engine, shared by every analysis in the process.

numpy releases the GIL in the calls that cost (sorts, binary searches, cumulative sums, reductions), so
threads use the machine's cores without copying columns into other processes. The pool is sized to the
cores the process may run on (at most ``MAX_WORKERS``), and shared so that concurrent analyses from the
controller's workers queue here instead of multiplying threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
MAX_WORKERS = 4

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _shared() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="drift")
        return _pool


def map_blocks(fn: Callable[[int, int], T], args: list[tuple[int, int]]) -> list[T]:
    """``[fn(*a) for a in args]``, in parallel when there is more than one block and more than one core;
    the first exception propagates, as in the sequential loop."""
    if len(args) < 2 or workers() < 2 or threading.current_thread().name.startswith("drift"):
        return [fn(*a) for a in args]
    futures = [_shared().submit(fn, *a) for a in args]
    return [f.result() for f in futures]
