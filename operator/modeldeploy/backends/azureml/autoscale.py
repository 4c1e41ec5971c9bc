"""Azure Monitor autoscale settings for managed online deployments.

One CPU rule pair per profile: scale out by one instance when average ``CpuUtilizationPercentage`` over five
minutes exceeds the target, scale in by one when it falls below half the target. Half, because removing one of
n >= 2 instances raises per-instance load by at most n/(n-1) <= 2x, so a scale-in never lands above the
target and flaps straight back out. The scale-in cooldown is the spec's scale-in delay.

Scheduled windows become recurring profiles. A recurring profile lasts until another one starts, so each
window also gets an end profile restoring the default capacity; its name is the JSON ``{"name", "for"}``
form the Azure portal uses to pair an end with its window.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from azure.mgmt.monitor.models import (
    AutoscaleProfile,
    AutoscaleSettingResource,
    MetricTrigger,
    Recurrence,
    RecurrentSchedule,
    ScaleAction,
    ScaleCapacity,
    ScaleRule,
)

from modeldeploy.api.scaling import DEFAULT_TARGET_CPU
from modeldeploy.backends.azureml.schedule import WeeklyTime, parse_cron, window_end

CPU_METRIC = "CpuUtilizationPercentage"
SCALE_OUT_COOLDOWN = timedelta(minutes=5)
EVALUATION_WINDOW = timedelta(minutes=5)
MAX_PROFILES = 20  # Azure Monitor's limit per setting


@dataclass(frozen=True)
class Window:
    cron: str
    duration: timedelta
    min_replicas: int
    time_zone: str = "UTC"  # a Windows time zone name, as Azure Monitor takes it


@dataclass(frozen=True)
class AutoscalePlan:
    min_replicas: int
    max_replicas: int
    default_replicas: int
    target_cpu: int = DEFAULT_TARGET_CPU
    scale_in_delay: timedelta = timedelta(minutes=5)
    windows: Sequence[Window] = ()

    def validate(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError(
                f"autoscaling: minReplicas ({self.min_replicas}) must be >= 1 and <= maxReplicas "
                f"({self.max_replicas}) on a managed Azure ML deployment"
            )
        if not 1 <= self.target_cpu <= 100:
            raise ValueError(f"autoscaling.targetCPUUtilization must be in 1..100, got {self.target_cpu}")
        if not timedelta(minutes=1) <= self.scale_in_delay <= timedelta(weeks=1):
            raise ValueError(
                f"autoscaling.scaleInDelay must be between 1m and 7d (Azure cooldown bounds), "
                f"got {self.scale_in_delay}"
            )
        if 1 + 2 * len(self.windows) > MAX_PROFILES:
            raise ValueError(
                f"autoscaling.schedules: at most {(MAX_PROFILES - 1) // 2} windows fit in one Azure "
                f"autoscale setting, got {len(self.windows)}"
            )


def _trigger(resource_id: str, operator: str, threshold: float) -> MetricTrigger:
    return MetricTrigger(
        metric_name=CPU_METRIC,
        metric_resource_uri=resource_id,
        time_grain=timedelta(minutes=1),
        statistic="Average",
        time_window=EVALUATION_WINDOW,
        time_aggregation="Average",
        operator=operator,
        threshold=threshold,
    )


def cpu_rules(plan: AutoscalePlan, resource_id: str) -> list[ScaleRule]:
    scale_out = ScaleRule(
        metric_trigger=_trigger(resource_id, "GreaterThan", plan.target_cpu),
        scale_action=ScaleAction(
            direction="Increase", type="ChangeCount", value="1", cooldown=SCALE_OUT_COOLDOWN
        ),
    )
    scale_in = ScaleRule(
        metric_trigger=_trigger(resource_id, "LessThan", plan.target_cpu / 2),
        scale_action=ScaleAction(
            direction="Decrease", type="ChangeCount", value="1", cooldown=plan.scale_in_delay
        ),
    )
    return [scale_out, scale_in]


def _recurrence(at: WeeklyTime, time_zone: str) -> Recurrence:
    schedule = RecurrentSchedule(
        time_zone=time_zone, days=list(at.days), hours=[at.hour], minutes=[at.minute]
    )
    return Recurrence(frequency="Week", schedule=schedule)


def profiles(plan: AutoscalePlan, resource_id: str) -> list[AutoscaleProfile]:
    def capacity(minimum: int) -> ScaleCapacity:
        maximum = max(minimum, plan.max_replicas)
        default = min(max(plan.default_replicas, minimum), maximum)
        return ScaleCapacity(minimum=str(minimum), maximum=str(maximum), default=str(default))

    out = [
        AutoscaleProfile(
            name="default", capacity=capacity(plan.min_replicas), rules=cpu_rules(plan, resource_id)
        )
    ]
    for index, window in enumerate(plan.windows):
        start = parse_cron(window.cron)
        name = f"window-{index}"
        out.append(
            AutoscaleProfile(
                name=name,
                capacity=capacity(max(window.min_replicas, plan.min_replicas)),
                rules=cpu_rules(plan, resource_id),
                recurrence=_recurrence(start, window.time_zone),
            )
        )
        out.append(
            AutoscaleProfile(
                name=json.dumps({"name": "default", "for": name}),
                capacity=capacity(plan.min_replicas),
                rules=cpu_rules(plan, resource_id),
                recurrence=_recurrence(window_end(start, window.duration), window.time_zone),
            )
        )
    return out


def build_setting(
    plan: AutoscalePlan, *, name: str, resource_id: str, location: str, tags: Mapping[str, str]
) -> AutoscaleSettingResource:
    """The full setting; raises ValueError naming the spec field when the plan cannot be expressed."""
    plan.validate()
    return AutoscaleSettingResource(
        location=location,
        profiles=profiles(plan, resource_id),
        tags=dict(tags),
        enabled=True,
        name_properties_name=name,
        target_resource_uri=resource_id,
    )


def setting_fingerprint(setting: AutoscaleSettingResource) -> str:
    """What matters for "is an update needed": the serialised profiles, target and enabled flag."""
    body = setting.serialize()
    props = body.get("properties", {})
    return json.dumps(
        {k: props.get(k) for k in ("profiles", "enabled", "targetResourceUri")}, sort_keys=True, default=str
    )
