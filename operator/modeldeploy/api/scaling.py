"""Replica bounds, CPU target, scale-in damping and scheduled minimums (e.g. business-hours warm capacity)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from . import patterns
from .base import ApiModel, cel
from .cron import Cron, CronError
from .duration import Bounds, Duration


def iana_zone(field: str) -> AfterValidator:
    """The apiserver can only check a time zone's shape (a pattern); the operator knows the zone database, so
    an unknown zone is refused, naming ``field``, rather than silently scheduling in UTC."""

    def check(name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{field} must be an IANA time zone name such as Europe/Berlin, got {name!r}"
            ) from None
        return name

    return AfterValidator(check)


def cron_expression(field: str) -> AfterValidator:
    """The apiserver checks a cron's shape; the operator parses it, so "0 0 0 0 0" (no day 0) is a spec
    error naming ``field``, not a failure in every reconcile that reads it."""

    def check(expression: str) -> str:
        try:
            Cron.parse(expression)
        except CronError as exc:
            raise ValueError(f"{field}: {exc}") from None
        return expression

    return AfterValidator(check)


class ScheduledWindow(ApiModel):
    """From each ``cron`` match, for ``duration``, keep at least ``minReplicas``."""

    name: str = Field(pattern=patterns.DNS_LABEL, max_length=63)
    cron: Annotated[str, cron_expression("autoscaling.schedules[].cron")] = Field(
        pattern=patterns.CRON, max_length=128, description='Five fields, e.g. "0 8 * * 1-5".'
    )
    duration: Annotated[Duration, Bounds("autoscaling.schedules[].duration", "1m", "168h")]
    min_replicas: int = Field(ge=1, le=1000)
    time_zone: Annotated[str, iana_zone("autoscaling.schedules[].timeZone")] = Field(
        "UTC",
        pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$",
        max_length=64,
        description="An IANA time zone name such as Europe/Berlin.",
    )


# The platform's CPU target, written once: the API default, and what every backend uses without autoscaling.
DEFAULT_TARGET_CPU = 70


class Autoscaling(ApiModel):
    min_replicas: int = Field(1, ge=1, le=1000)
    max_replicas: int = Field(ge=1, le=1000)
    target_cpu_utilization: int = Field(DEFAULT_TARGET_CPU, ge=1, le=100, alias="targetCPUUtilization")
    scale_in_delay: Annotated[Duration, Bounds("autoscaling.scaleInDelay", "1m", "168h")] = Field(
        "5m", description="Wait this long below target before removing replicas."
    )
    schedules: list[ScheduledWindow] = Field(
        default_factory=list,
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )

    @cel(
        "self.minReplicas <= self.maxReplicas",
        "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
        field_path=".minReplicas",
    )
    def _bounds_ordered(self) -> bool:
        return self.min_replicas <= self.max_replicas

    @cel(
        "self.schedules.all(s, s.minReplicas <= self.maxReplicas)",
        "autoscaling.schedules[].minReplicas must not exceed autoscaling.maxReplicas",
        field_path=".schedules",
    )
    def _schedules_within_max(self) -> bool:
        return all(s.min_replicas <= self.max_replicas for s in self.schedules)
