"""Scheduled scaling windows on Kubernetes: a window is active at ``now`` when its cron (``api.cron``) fired
within the last ``duration``, in the window's time zone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from modeldeploy.api.cron import Cron, CronError

# Windows longer than this are refused: the search walks minute by minute.
MAX_WINDOW = timedelta(days=7)


def window_active(cron: Cron, duration: timedelta, now: datetime) -> bool:
    if duration > MAX_WINDOW:
        raise CronError(f"a scheduled window lasts at most {MAX_WINDOW.days} days, got {duration}")
    t = now.replace(second=0, microsecond=0)
    end = now - duration
    while t > end:
        if cron.matches(t):
            return True
        t -= timedelta(minutes=1)
    return False


@dataclass(frozen=True)
class Window:
    cron: Cron
    duration: timedelta
    min_replicas: int
    time_zone: str = "UTC"

    def active(self, now: datetime) -> bool:
        # cron fields are wall-clock times in the window's zone (08:00 Europe/Berlin moves with DST)
        return window_active(self.cron, self.duration, now.astimezone(ZoneInfo(self.time_zone)))


def effective_min_replicas(base: int, windows: Iterable[Window], now: datetime) -> int:
    """The floor in force now: the base, raised by every active window."""
    return max([base, *(w.min_replicas for w in windows if w.active(now))])
