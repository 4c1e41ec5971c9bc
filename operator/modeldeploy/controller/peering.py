"""Tells the worker pool when kopf peering pauses or resumes this replica.

kopf pauses its own watchers and daemons when a higher-priority peer appears, but it has no public hook for
"paused": its pause state is a toggle set handed to internal tasks only. The one task that receives it and
exists in every kopf run is the daemon killer, which kopf looks up as a module attribute when the operator
starts; wrapping it lets us follow the same toggle set the watchers follow. kopf is pinned in
requirements.lock, and the peering e2e tests fail if this stops working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kopf._core.engines import daemons as _kopf_daemons

_ORIGINAL = _kopf_daemons.daemon_killer


async def _follow(paused: Any, on_change: Callable[[bool], None]) -> None:
    state = bool(paused.is_on())
    on_change(state)
    while True:
        await paused.wait_for(not state)
        state = not state
        on_change(state)


def follow_pausing(on_change: Callable[[bool], None]) -> None:
    """Call ``on_change(paused)`` now and on every peering pause or resume of the next ``kopf.operator``."""

    async def killer(*, operator_paused: Any, **kwargs: Any) -> None:
        follower = asyncio.create_task(_follow(operator_paused, on_change), name="modeldeploy pause follower")
        try:
            await _ORIGINAL(operator_paused=operator_paused, **kwargs)
        finally:
            follower.cancel()

    _kopf_daemons.daemon_killer = killer
