"""Azure ML compute rules: no local auth, clusters that scale to zero soon, cheap clusters outside production,
compute instances that shut themselves down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from pulumi_policy import Severity
from pydantic import Field, field_validator

from kdap_policies import builtins
from kdap_policies.config import EnvironmentConfig, PolicyConfig
from kdap_policies.durations import describe, parse_duration
from kdap_policies.resource import Resource, is_true, same
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

COMPUTE = frozenset({"azure-native:machinelearningservices:Compute"})
_INSTANCE_MINIMUM_IDLE = timedelta(minutes=15)  # Azure refuses shorter idle shutdowns


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class ScaleConfig(PolicyConfig):
    max_min_node_count: int = Field(default=0, ge=0, description="Most nodes a cluster may keep when idle.")
    max_node_count: int = Field(default=100, ge=1, description="Most nodes a cluster may scale out to.")


class ScaleDownConfig(PolicyConfig):
    max_idle_before_scale_down: str = Field(
        default="PT30M", description="Longest idle time (ISO 8601) before a cluster releases nodes."
    )
    _check = field_validator("max_idle_before_scale_down")(_duration)


class ShutdownConfig(PolicyConfig):
    max_idle_before_shutdown: str = Field(
        default="PT1H", description="Longest idle time (ISO 8601) before a compute instance shuts down."
    )
    _check = field_validator("max_idle_before_shutdown")(_duration)


def _compute_type(resource: Resource) -> str:
    return str(resource.get("properties.computeType") or "")


def _local_auth(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    if not is_true(resource.get("properties.disableLocalAuth")):
        yield Finding(
            "properties.disableLocalAuth",
            f"is not true on {_compute_type(resource) or 'compute'}: "
            "keys and SSH passwords work beside Entra ID",
            "set properties.disable_local_auth=True",
        )


def _scale_to_zero(resource: Resource, config: ScaleConfig) -> Iterator[Finding]:
    if _compute_type(resource) != "AmlCompute":
        return
    low = resource.get("properties.properties.scaleSettings.minNodeCount") or 0
    high = resource.get("properties.properties.scaleSettings.maxNodeCount")
    if not isinstance(low, int | float) or low > config.max_min_node_count:
        yield Finding(
            "properties.properties.scaleSettings.minNodeCount",
            f"is {low}: idle nodes are billed",
            f"set scale_settings.min_node_count={config.max_min_node_count}",
        )
    if isinstance(high, int | float) and high > config.max_node_count:
        yield Finding(
            "properties.properties.scaleSettings.maxNodeCount",
            f"is {high}, above {config.max_node_count}",
            f"set scale_settings.max_node_count to at most {config.max_node_count}",
        )


def _idle_limit(resource: Resource, path: str, limit: str, arg: str) -> Iterator[Finding]:
    """Findings for an ISO 8601 idle timeout at `path` that is missing, malformed or longer than `limit`."""
    value, ceiling = resource.get(path), parse_duration(limit)
    fix = f"set {arg}='{describe(ceiling)}' or shorter"
    if not isinstance(value, str):
        yield Finding(path, "is not set, so idle capacity is kept (and billed) indefinitely", fix)
        return
    try:
        idle = parse_duration(value)
    except ValueError as exc:
        yield Finding(path, f"is invalid: {exc}", fix)
        return
    if idle > ceiling:
        yield Finding(path, f"is {value}, longer than {limit}", fix)


def _scale_down(resource: Resource, config: ScaleDownConfig) -> Iterator[Finding]:
    if _compute_type(resource) == "AmlCompute":
        yield from _idle_limit(
            resource,
            "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown",
            config.max_idle_before_scale_down,
            "scale_settings.node_idle_time_before_scale_down",
        )


def _low_priority(resource: Resource, config: EnvironmentConfig) -> Iterator[Finding]:
    if _compute_type(resource) != "AmlCompute" or resource.is_prod(config.prod_environments):
        return
    priority = resource.get("properties.properties.vmPriority")
    if not same(priority, "LowPriority"):
        yield Finding(
            "properties.properties.vmPriority",
            f"is {priority or 'not set (Dedicated)'} outside production (env={resource.environment})",
            "set vm_priority='LowPriority'",
        )


def _instance_shutdown(resource: Resource, config: ShutdownConfig) -> Iterator[Finding]:
    if _compute_type(resource) != "ComputeInstance":
        return
    path = "properties.properties.idleTimeBeforeShutdown"
    yield from _idle_limit(resource, path, config.max_idle_before_shutdown, "idle_time_before_shutdown")
    value = resource.get(path)
    idle = _safe(value) if isinstance(value, str) else None
    if idle is not None and idle < _INSTANCE_MINIMUM_IDLE:
        yield Finding(
            path, f"is {value}, below Azure's 15-minute minimum", "set idle_time_before_shutdown='PT15M'"
        )


def _safe(value: str) -> timedelta | None:
    try:
        return parse_duration(value)
    except ValueError:
        return None


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "compute-local-auth-disabled",
        "ML computes accept Entra ID only.",
        COMPUTE,
        _local_auth,
        PolicyConfig,
        builtins.ML_COMPUTE_LOCAL_AUTH,
    ),
    ResourceRule(
        "compute-cluster-scale-to-zero",
        "ML compute clusters scale to zero nodes and stay bounded.",
        COMPUTE,
        _scale_to_zero,
        ScaleConfig,
        None,
        severity=Severity.MEDIUM,
    ),
    ResourceRule(
        "compute-cluster-idle-scale-down",
        "ML compute clusters release idle nodes promptly.",
        COMPUTE,
        _scale_down,
        ScaleDownConfig,
        None,
        severity=Severity.MEDIUM,
    ),
    ResourceRule(
        "compute-cluster-low-priority-outside-prod",
        "Non-production ML compute clusters use low priority VMs.",
        COMPUTE,
        _low_priority,
        EnvironmentConfig,
        None,
        severity=Severity.LOW,
    ),
    ResourceRule(
        "compute-instance-idle-shutdown",
        "ML compute instances shut down when idle.",
        COMPUTE,
        _instance_shutdown,
        ShutdownConfig,
        builtins.ML_INSTANCE_IDLE_SHUTDOWN,
        severity=Severity.MEDIUM,
    ),
)
