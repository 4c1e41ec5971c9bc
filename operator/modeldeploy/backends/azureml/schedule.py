"""Cron windows -> Azure Monitor weekly recurrences.

Autoscale recurrences repeat weekly at given days, hours and minutes, and a recurring profile lasts until the
next profile starts. So a window ``(cron, duration)`` becomes a start time and an end time, each on a set of
week days. Only crons Azure can express are accepted: fixed minute and hour, any day of month and month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from modeldeploy.api.cron import Cron, CronError

_ALL_MONTHS = frozenset(range(1, 13))
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class WeeklyTime:
    days: tuple[str, ...]
    hour: int
    minute: int


def parse_cron(cron: str) -> WeeklyTime:
    """``M H * * DOW`` with one minute and one hour; DOW a list/range of 0-7 (0 and 7 are Sunday) or ``*``."""
    try:
        parsed = Cron.parse(cron)
    except CronError as exc:
        raise ValueError(f"schedule {exc}") from None
    if parsed.day_restricted or parsed.months != _ALL_MONTHS:
        raise ValueError(
            f"schedule cron {cron!r}: Azure autoscale repeats weekly; set day-of-month and month to '*'"
        )
    if len(parsed.minutes) != 1 or len(parsed.hours) != 1:
        raise ValueError(
            f"schedule cron {cron!r}: use a single minute and hour (one start time per window); "
            "add one schedule per start time"
        )
    (hour,), (minute,) = parsed.hours, parsed.minutes
    return WeeklyTime(days=tuple(DAYS[d] for d in sorted(parsed.weekdays)), hour=hour, minute=minute)


def window_end(start: WeeklyTime, duration: timedelta) -> WeeklyTime:
    """When a window that starts at ``start`` and lasts ``duration`` ends (may fall on later days)."""
    if not timedelta(minutes=1) <= duration < timedelta(days=7):
        raise ValueError(f"schedule duration {duration} must be between 1 minute and 7 days")
    offset = timedelta(hours=start.hour, minutes=start.minute) + duration
    day_shift = offset.days
    seconds = offset.seconds
    days = tuple(DAYS[(DAYS.index(d) + day_shift) % 7] for d in start.days)
    ordered = tuple(d for d in DAYS if d in days)
    return WeeklyTime(days=ordered, hour=seconds // 3600, minute=seconds % 3600 // 60)
