"""Cron windows -> Azure Monitor weekly recurrences.

Autoscale recurrences repeat weekly at given days, hours and minutes, and a recurring profile lasts until the
next profile starts. So a window ``(cron, duration)`` becomes a start time and an end time, each on a set of
week days. Only crons Azure can express are accepted: fixed minute and hour, any day of month and month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class WeeklyTime:
    days: tuple[str, ...]
    hour: int
    minute: int


def _field(value: str, low: int, high: int, what: str, cron: str) -> list[int]:
    out: set[int] = set()
    for part in value.split(","):
        bounds = part.split("-")
        try:
            numbers = [int(b) for b in bounds]
        except ValueError:
            raise ValueError(
                f"schedule cron {cron!r}: {what} {part!r} is not a number or range; "
                "use numbers, ranges (1-5) and lists (1,3)"
            ) from None
        first, last = numbers[0], numbers[-1]
        if len(numbers) > 2 or not low <= first <= last <= high:
            raise ValueError(f"schedule cron {cron!r}: {what} {part!r} must lie in {low}..{high}")
        out.update(range(first, last + 1))
    return sorted(out)


def parse_cron(cron: str) -> WeeklyTime:
    """``M H * * DOW`` with one minute and one hour; DOW a list/range of 0-7 (0 and 7 are Sunday) or ``*``."""
    parts = cron.split()
    if len(parts) != 5:
        raise ValueError(
            f"schedule cron {cron!r} must have 5 fields: minute hour day-of-month month day-of-week"
        )
    minute, hour, dom, month, dow = parts
    if dom != "*" or month != "*":
        raise ValueError(
            f"schedule cron {cron!r}: Azure autoscale repeats weekly; set day-of-month and month to '*'"
        )
    minutes = _field(minute, 0, 59, "minute", cron)
    hours = _field(hour, 0, 23, "hour", cron)
    if len(minutes) != 1 or len(hours) != 1:
        raise ValueError(
            f"schedule cron {cron!r}: use a single minute and hour (one start time per window); "
            "add one schedule per start time"
        )
    weekdays = list(range(7)) if dow == "*" else [d % 7 for d in _field(dow, 0, 7, "day-of-week", cron)]
    return WeeklyTime(days=tuple(DAYS[d] for d in sorted(set(weekdays))), hour=hours[0], minute=minutes[0])


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
