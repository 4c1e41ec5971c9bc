"""Standard 5-field cron (minute hour day-of-month month day-of-week), the one parser behind every schedule.

Supports ``*``, lists, ranges and steps, which is what scaling calendars use; names (MON, JAN) and ``@daily``
are refused with the field named, so a typo never silently means "never". Backends add what their target
can express on top (Azure autoscale: one start time a week day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


class CronError(ValueError):
    pass


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name} step {step_text!r} must be a positive number")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise CronError(f"{name} range {body!r} must be two numbers like 1-5")
            start, end = int(a), int(b)
        elif body.isdigit():
            start = end = int(body)
            if step_text:
                end = high
        else:
            raise CronError(
                f"{name} {body!r} is not a number, range or '*' (names like MON are not supported)"
            )
        if not (low <= start <= end <= high):
            raise CronError(f"{name} {body!r} is out of range {low}-{high}")
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
        try:
            sets = [_parse_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
        except CronError as exc:
            raise CronError(f"cron {expression!r}: {exc}") from None
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
