"""Go-style durations ("30s", "5m", "1h30m", "250ms"): as written in manifests and parsed by CEL."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

Duration = Annotated[
    str,
    Field(
        pattern=DURATION_PATTERN,
        max_length=32,
        description='A Go duration such as "30s", "5m" or "1h30m" (units ms, s, m, h).',
    ),
]


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration; raises ValueError naming the accepted form."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f'invalid duration {text!r}: use a Go duration such as "30s", "5m" or "1h30m"')
    return sum(float(num) * _UNIT_SECONDS[unit] for num, unit in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """The shortest Go-style form of a whole number of seconds (for status and messages)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"
