"""Scheduled scaling windows: standard 5-field cron (minute hour day-of-month month day-of-week).

A window is active at ``now`` when the cron fired within the last ``duration``. Supports ``*``, lists,
ranges and steps, which is what scaling calendars use; names (MON, JAN) and ``@daily`` are rejected with the
field named, so a typo never silently means "never".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
# Windows longer than this are refused: the search walks minute by minute.
MAX_WINDOW = timedelta(days=7)


class CronError(ValueError):
    pass


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"cron {name} step {step_text!r} must be a positive number")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise CronError(f"cron {name} range {body!r} must be two numbers like 1-5")
            start, end = int(a), int(b)
        elif body.isdigit():
            start = end = int(body)
            if step_text:
                end = high
        else:
            raise CronError(
                f"cron {name} {body!r} is not a number, range or '*' (names like MON are not supported)"
            )
        if not (low <= start <= end <= high):
            raise CronError(f"cron {name} {body!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday (7 folded to 0)
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        parts = expression.split()
        if len(parts) != 5:
            raise CronError(
                f"cron {expression!r} must have 5 fields (minute hour day-of-month month day-of-week)"
            )
        sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] != "*", parts[4] != "*")

    def matches(self, t: datetime) -> bool:
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        day_ok = t.day in self.days
        weekday_ok = (t.isoweekday() % 7) in self.weekdays
        # POSIX cron: when both day fields are restricted, either may match.
        if self.day_restricted and self.weekday_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


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
