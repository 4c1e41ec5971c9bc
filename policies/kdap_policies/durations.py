"""ISO 8601 durations as Azure ML writes them (PT30M, PT120S, P1DT2H)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse a day/time ISO 8601 duration; years, months and weeks are refused because their length varies."""
    cleaned = text.strip().upper()
    match = _DURATION.match(cleaned)
    # The pattern alone accepts "P", "PT" and a dangling "T", which carry no duration.
    if match is None or cleaned in ("P", "PT") or cleaned.endswith("T"):
        raise ValueError(f"not an ISO 8601 day/time duration: {text!r} (expected e.g. 'PT30M' or 'P1DT2H')")
    parts = {unit: float(value) for unit, value in match.groupdict().items() if value is not None}
    return timedelta(**parts)


def describe(delta: timedelta) -> str:
    """Render a timedelta the way the fix text should ask for it, e.g. PT30M."""
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"PT{seconds // 3600}H"
    if seconds % 60 == 0:
        return f"PT{seconds // 60}M"
    return f"PT{seconds}S"
