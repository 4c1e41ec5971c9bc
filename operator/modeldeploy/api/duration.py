"""Go-style durations ("30s", "5m", "1h30m", "250ms"): as written in manifests and parsed by CEL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

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


@dataclass(frozen=True)
class Bounds:
    """``Annotated[Duration, Bounds(...)]``: the duration must lie between ``minimum`` (exclusive with
    ``above``) and ``maximum``.

    The bound is one CEL rule on the property and the same check in Python, with one message naming the
    field (``where``) and both limits, so the apiserver and the operator refuse the same values the same
    way. A zero that means nothing (an analysis every 0s) or a value too large to act on (a live window
    listing a year of hourly folders) never reaches the machine.
    """

    where: str
    minimum: str
    maximum: str
    above: bool = False
    note: str = ""

    @property
    def message(self) -> str:
        words = "longer than" if self.above else "at least"
        return f"{self.where} must be {words} {self.minimum} and at most {self.maximum}{self.note}"

    @property
    def rule(self) -> str:
        op = ">" if self.above else ">="
        return (
            f"duration(self) {op} duration('{self.minimum}') && duration(self) <= duration('{self.maximum}')"
        )

    def holds(self, seconds: float) -> bool:
        low, high = parse_duration(self.minimum), parse_duration(self.maximum)
        return (seconds > low if self.above else seconds >= low) and seconds <= high

    def _check(self, value: str) -> str:
        if not self.holds(parse_duration(value)):
            raise ValueError(self.message)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        return cs.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, core_schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        rules = schema.setdefault("x-kubernetes-validations", [])
        rules.append({"rule": self.rule, "message": self.message})
        return schema
