"""ModelDeploymentSpec -> azure-ai-ml entities (endpoint, deployment) and the autoscale plan.

Only references go to Azure: a registered model or an artifact URI, an environment reference or image, and a
registered code asset. Local paths would make the SDK upload files from wherever the operator runs, which is
not GitOps, so they are refused with the field to fix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import (
    CodeConfiguration,
    DataCollector,
    DeploymentCollection,
    Environment,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineDeployment,
    OnlineEndpoint,
    OnlineRequestSettings,
    ProbeSettings,
    TargetUtilizationScaleSettings,
)

from modeldeploy.api import platform
from modeldeploy.api.azure_names import TAG_OWNER, TAG_OWNER_UID
from modeldeploy.api.scaling import DEFAULT_TARGET_CPU
from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec, Probe, parse_duration
from modeldeploy.backends.azureml.autoscale import AutoscalePlan, Window
from modeldeploy.backends.azureml.timezones import windows_time_zone
from modeldeploy.ports import BackendError, Owner

K8S_POLLING_INTERVAL_SECONDS = 10


def invalid(field: str, message: str) -> BackendError:
    return BackendError(reason="InvalidSpec", message=f"{field}: {message}", retryable=False)


def azureml_target(spec: ModelDeploymentSpec) -> AzureMLTarget:
    if spec.target.azureml is None:
        raise invalid("spec.target.azureml", "the Azure ML backend needs target.type azureml and its block")
    return spec.target.azureml


def owner_tags(owner: Owner) -> dict[str, str]:
    # Cost tags first, so an ownership tag can never be overwritten by one.
    return dict(owner.cost_tags) | {TAG_OWNER: f"{owner.namespace}/{owner.name}", TAG_OWNER_UID: owner.uid}


def endpoint_entity(target: AzureMLTarget, owner: Owner) -> OnlineEndpoint:
    common: dict[str, Any] = {
        "name": target.endpoint_name,
        "auth_mode": target.effective_auth_mode(),
        "tags": owner_tags(owner),
    }
    if target.endpoint_kind == "kubernetes":
        return KubernetesOnlineEndpoint(compute=target.compute, **common)
    return ManagedOnlineEndpoint(**common)


@dataclass(frozen=True)
class DeploymentPlan:
    """Everything a deployment is made of; its hash decides whether an existing deployment needs an update."""

    revision: str
    deployment: str
    endpoint: str
    kubernetes: bool
    model: str
    model_uri: str | None
    model_type: str
    environment: str | None
    environment_image: str | None
    code: str | None
    scoring_script: str | None
    instance_type: str
    instance_count: int
    max_instances: int
    target_cpu: int
    autoscale: bool
    request_timeout_ms: int
    max_concurrent_requests: int
    liveness: tuple[int, int, int, int, int]
    readiness: tuple[int, int, int, int, int]
    collect: bool = False  # the data collector on: drift is configured, and reads what it writes

    def fingerprint(self) -> str:
        fields = asdict(self)
        if not self.collect:
            del fields["collect"]  # deployments written before the data collector existed keep their hash
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _probe(probe: Probe) -> tuple[int, int, int, int, int]:
    return (
        probe.failure_threshold,
        probe.success_threshold,
        probe.timeout_seconds,
        probe.period_seconds,
        probe.initial_delay_seconds,
    )


def _code(spec: ModelDeploymentSpec) -> tuple[str | None, str | None]:
    code = spec.model.code
    if code is None:
        return None, None
    if not code.uri.startswith("azureml:"):
        raise invalid(
            "spec.model.code.uri",
            f"{code.uri!r} is not an Azure ML code asset; register the scoring code and use "
            "azureml:<name>:<version>",
        )
    return code.uri, code.scoring_script


def plan_deployment(
    spec: ModelDeploymentSpec, revision: str, deployment: str, min_replicas: int | None
) -> DeploymentPlan:
    target = azureml_target(spec)
    low, high = spec.replica_bounds()
    if min_replicas is not None:
        low = max(1, min_replicas)  # Azure ML online deployments cannot run zero instances
    env = spec.model.environment
    code, script = _code(spec)
    model = spec.model
    return DeploymentPlan(
        revision=revision,
        deployment=deployment,
        endpoint=target.endpoint_name,
        kubernetes=target.endpoint_kind == "kubernetes",
        model=model.registry or f"{model.name}:{model.version}",
        model_uri=model.artifact_uri,
        model_type=AssetTypes.MLFLOW_MODEL if model.framework == "mlflow" else AssetTypes.CUSTOM_MODEL,
        environment=env.azureml if env else None,
        environment_image=env.image if env else None,
        code=code,
        scoring_script=script,
        instance_type=_instance_type(target.instance_type),
        instance_count=low,
        max_instances=max(low, high),
        target_cpu=spec.autoscaling.target_cpu_utilization if spec.autoscaling else DEFAULT_TARGET_CPU,
        autoscale=spec.autoscaling is not None,
        request_timeout_ms=target.request_settings.request_timeout_ms,
        max_concurrent_requests=target.request_settings.max_concurrent_requests_per_instance,
        liveness=_probe(target.liveness_probe),
        readiness=_probe(target.readiness_probe),
        collect=spec.analysis is not None and spec.analysis.drift is not None,
    )


def _probe_settings(values: tuple[int, int, int, int, int]) -> ProbeSettings:
    failure, success, timeout, period, delay = values
    return ProbeSettings(
        failure_threshold=failure,
        success_threshold=success,
        timeout=timeout,
        period=period,
        initial_delay=delay,
    )


def _model(plan: DeploymentPlan) -> str | Model:
    if plan.model_uri is None:
        return plan.model
    name, version = plan.model.split(":", 1)
    return Model(name=name, version=version, path=plan.model_uri, type=plan.model_type)


def data_collector() -> DataCollector:
    """Inputs and outputs of every request, to the folders the drift reader lists
    (``platform.collector_uri``: the workspace blob datastore, modelDataCollector/<endpoint>/<deployment>)."""
    return DataCollector(
        collections={name: DeploymentCollection(enabled="true") for name in platform.COLLECTIONS},
        rolling_rate=platform.COLLECTOR_ROLLING_RATE,
        sampling_rate=platform.COLLECTOR_SAMPLING_RATE,
    )


def deployment_entity(plan: DeploymentPlan, tags: dict[str, str]) -> OnlineDeployment:
    environment: str | Environment | None = plan.environment
    if plan.environment_image is not None:
        environment = Environment(image=plan.environment_image)
    code = CodeConfiguration(code=plan.code, scoring_script=plan.scoring_script) if plan.code else None
    common: dict[str, Any] = {
        "name": plan.deployment,
        "endpoint_name": plan.endpoint,
        "tags": tags,
        "model": _model(plan),
        "environment": environment,
        "code_configuration": code,
        "instance_type": plan.instance_type,
        "instance_count": plan.instance_count,
        "request_settings": OnlineRequestSettings(
            request_timeout_ms=plan.request_timeout_ms,
            max_concurrent_requests_per_instance=plan.max_concurrent_requests,
        ),
        "liveness_probe": _probe_settings(plan.liveness),
        "readiness_probe": _probe_settings(plan.readiness),
        "data_collector": data_collector() if plan.collect else None,
    }
    if plan.kubernetes:
        scale = None
        if plan.autoscale:  # Kubernetes endpoints scale in-cluster; Azure Monitor cannot target them
            scale = TargetUtilizationScaleSettings(
                min_instances=plan.instance_count,
                max_instances=plan.max_instances,
                polling_interval=K8S_POLLING_INTERVAL_SECONDS,
                target_utilization_percentage=plan.target_cpu,
            )
        return KubernetesOnlineDeployment(scale_settings=scale, **common)
    return ManagedOnlineDeployment(**common)


def autoscale_plan(spec: ModelDeploymentSpec, deployment: DeploymentPlan) -> AutoscalePlan | None:
    """The Azure Monitor plan for a managed deployment, or None when the spec does not autoscale."""
    scaling = spec.autoscaling
    if scaling is None or deployment.kubernetes:
        return None
    try:
        windows = [
            Window(
                cron=w.cron,
                duration=timedelta(seconds=parse_duration(w.duration)),
                min_replicas=w.min_replicas,
                time_zone=windows_time_zone(w.time_zone),
            )
            for w in scaling.schedules
        ]
    except ValueError as error:
        raise invalid("spec.autoscaling.schedules", str(error)) from error
    return AutoscalePlan(
        min_replicas=deployment.instance_count,
        max_replicas=deployment.max_instances,
        default_replicas=deployment.instance_count,
        target_cpu=scaling.target_cpu_utilization,
        scale_in_delay=timedelta(seconds=parse_duration(scaling.scale_in_delay)),
        windows=windows,
    )


def _instance_type(value: str | None) -> str:
    # The spec's rules require it on online models (filled from the platform's handoff when left out).
    if value is None:
        raise ValueError("target.azureml.instanceType is required for an online deployment")
    return value
