"""Replica bounds, CPU target, scale-in damping and scheduled minimums (e.g. business-hours warm capacity)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from . import patterns
from .base import ApiModel, cel
from .duration import Bounds, Duration


def _iana_zone(name: str) -> str:
    # The apiserver can only check the shape (a pattern); the operator knows the zone database, so an
    # unknown zone is refused here rather than silently scheduling in UTC.
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"autoscaling.schedules[].timeZone must be an IANA time zone name such as Europe/Berlin, "
            f"got {name!r}"
        ) from None
    return name


class ScheduledWindow(ApiModel):
    """From each ``cron`` match, for ``duration``, keep at least ``minReplicas``."""

    name: str = Field(pattern=patterns.DNS_LABEL, max_length=63)
    cron: str = Field(pattern=patterns.CRON, max_length=128, description='Five fields, e.g. "0 8 * * 1-5".')
    duration: Annotated[Duration, Bounds("autoscaling.schedules[].duration", "1m", "168h")]
    min_replicas: int = Field(ge=1, le=1000)
    time_zone: Annotated[str, AfterValidator(_iana_zone)] = Field(
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
