"""Where the model serves: an Azure ML online endpoint, or Deployments in this cluster behind a Gateway."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from . import patterns
from .base import ApiModel, cel, immutable
from .platform import DEFAULT_AUTH_MODE
from .serverless import ServerlessTarget
from .structural import PLATFORM_DEFAULT

# A digest, or a tag (a ':' after the last '/') that is not latest.
IMAGE_PINNED_CEL = (
    "{img}.contains('@sha256:') || ({img}.split('/')[size({img}.split('/')) - 1].contains(':') "
    "&& !{img}.endsWith(':latest'))"
)


# CEL: the object has an azureml target (the spec-level rules that depend on it start with this).
ON_AZUREML = "self.target.type == 'azureml' && has(self.target.azureml)"


def image_is_pinned(image: str) -> bool:
    """True for a digest or an explicit tag other than ``latest`` (a revision must name fixed bits)."""
    if "@sha256:" in image:
        return True
    last = image.split("/")[-1]
    return ":" in last and not image.endswith(":latest")


class Probe(ApiModel):
    """Health probe timing (Azure ML ProbeSettings / Kubernetes probe fields); defaults are Azure ML's."""

    initial_delay_seconds: int = Field(10, ge=0, le=3600)
    period_seconds: int = Field(10, ge=1, le=3600)
    timeout_seconds: int = Field(2, ge=1, le=3600)
    success_threshold: int = Field(1, ge=1, le=100)
    failure_threshold: int = Field(30, ge=1, le=1000)


class LivenessProbe(Probe):
    @cel(
        "self.successThreshold == 1",
        "target.azureml.livenessProbe.successThreshold must be 1 (liveness cannot require more)",
    )
    def _liveness_success_one(self) -> bool:
        return self.success_threshold == 1


class RequestSettings(ApiModel):
    """Azure ML online request settings."""

    request_timeout_ms: int = Field(
        5000, ge=1, le=180000, description="Scoring timeout; at most 180000 on Azure ML."
    )
    max_concurrent_requests_per_instance: int = Field(1, ge=1, le=1000)


_PLATFORM = (
    "Leave it out to take the platform's (the ConfigMap kdap-system/kdap-platform infra publishes); the "
    "value used is pinned in status.platformDefaults, so a later platform change never moves this object."
)
_PLATFORM_MODEL = (
    "Leave it out to take the endpoint the platform declared for this ModelDeployment (its namespace/name in "
    "the stack's kdap-platform:endpoints); pinned in status.platformDefaults like the workspace."
)


def _platform_default(label: str) -> dict[str, Any]:
    return {**immutable(label), PLATFORM_DEFAULT: True}


class AzureMLTarget(ApiModel):
    """An Azure ML online endpoint; each revision becomes one online deployment under it."""

    subscription_id: str = Field(
        pattern=patterns.UUID,
        max_length=36,
        description=_PLATFORM,
        json_schema_extra=_platform_default("target.azureml.subscriptionId"),
    )
    resource_group: str = Field(
        pattern=patterns.RESOURCE_GROUP,
        max_length=90,
        description=_PLATFORM,
        json_schema_extra=_platform_default("target.azureml.resourceGroup"),
    )
    workspace: str = Field(
        pattern=patterns.WORKSPACE,
        max_length=33,
        description=_PLATFORM,
        json_schema_extra=_platform_default("target.azureml.workspace"),
    )
    endpoint_name: str = Field(
        pattern=patterns.ENDPOINT,
        max_length=32,
        description=_PLATFORM_MODEL,
        json_schema_extra=_platform_default("target.azureml.endpointName"),
    )
    endpoint_kind: Literal["managed", "kubernetes"] = Field(
        "managed", json_schema_extra=immutable("target.azureml.endpointKind")
    )
    compute: str | None = Field(
        None,
        pattern=r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$",
        max_length=32,
        description="The attached Kubernetes compute (endpointKind kubernetes only).",
    )
    auth_mode: Literal["key", "aml_token", "aad_token"] | None = Field(
        None,
        description=(
            "Leave it out for the platform's default (api/platform.py): aad_token on managed endpoints (what "
            "infra creates), aml_token on Kubernetes ones."
        ),
    )
    instance_type: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        max_length=64,
        description="A VM SKU (Standard_DS3_v2) on managed endpoints, an instance type on Kubernetes ones. "
        "Leave it out to take what the platform declares for this model (its handoff); a change there rolls "
        "out as a new revision. Online models only: a batch model's runs are sized by spec.batch.compute.",
        json_schema_extra={PLATFORM_DEFAULT: True},
    )
    instance_count: int = Field(
        1, ge=1, le=100, description="Instances per revision when autoscaling is unset."
    )
    request_settings: RequestSettings = Field(default_factory=RequestSettings)
    liveness_probe: LivenessProbe = Field(default_factory=LivenessProbe)
    readiness_probe: Probe = Field(default_factory=Probe)
    log_analytics_workspace_id: str | None = Field(
        None,
        pattern=patterns.LOG_ANALYTICS_WORKSPACE_ID,
        max_length=512,
        description=(
            "The ARM id of the Log Analytics workspace (the infra stack output log_analytics_id). When set, "
            "the operator puts a diagnostic setting on each managed online deployment it creates, sending "
            "AllMetrics there: the platform's CPU alert reads them from AzureMetrics. Managed endpoints only."
        ),
    )

    @cel(
        "self.endpointKind == 'kubernetes' ? has(self.compute) : !has(self.compute)",
        "target.azureml.compute is required when endpointKind is kubernetes and not allowed when it is "
        "managed",
        field_path=".compute",
    )
    def _compute_matches_kind(self) -> bool:
        return (self.compute is not None) == (self.endpoint_kind == "kubernetes")

    @cel(
        "!has(self.authMode) || self.authMode != 'aad_token' || self.endpointKind == 'managed'",
        "target.azureml.authMode aad_token needs endpointKind managed: use key or aml_token on Kubernetes "
        "endpoints",
        field_path=".authMode",
    )
    def _aad_only_managed(self) -> bool:
        return self.auth_mode != "aad_token" or self.endpoint_kind == "managed"

    def effective_auth_mode(self) -> str:
        """The spec's auth mode, else the platform default for the endpoint kind (infra creates the same)."""
        return self.auth_mode or DEFAULT_AUTH_MODE[self.endpoint_kind]

    @cel(
        "!has(self.logAnalyticsWorkspaceId) || self.endpointKind == 'managed'",
        "target.azureml.logAnalyticsWorkspaceId needs endpointKind managed: Kubernetes online deployments "
        "send no platform metrics to Azure Monitor; remove the field",
        field_path=".logAnalyticsWorkspaceId",
    )
    def _workspace_only_managed(self) -> bool:
        return self.log_analytics_workspace_id is None or self.endpoint_kind == "managed"


def _quantity_text(value: object) -> object:
    # YAML authors write `cpu: 1`; keep what the apiserver stores (int-or-string) as text for the models.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Quantity = Annotated[
    str,
    BeforeValidator(_quantity_text),
    Field(pattern=patterns.QUANTITY, max_length=32, json_schema_extra={"x-kubernetes-int-or-string": True}),
]
ResourceName = Literal["cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"]


class Resources(ApiModel):
    """Container requests and limits."""

    requests: dict[ResourceName, Quantity] = Field(default_factory=dict, max_length=4)
    limits: dict[ResourceName, Quantity] = Field(default_factory=dict, max_length=4)


class SecretKeyRef(ApiModel):
    name: str = Field(pattern=patterns.DNS_SUBDOMAIN, max_length=253)
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)


class EnvVar(ApiModel):
    """An environment variable: a literal value, or a key of a Secret in the same namespace."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)
    value: str | None = Field(None, max_length=4096)
    secret_key_ref: SecretKeyRef | None = None

    @cel(
        "has(self.value) != has(self.secretKeyRef)",
        "env[].value or env[].secretKeyRef must be set, not both",
    )
    def _one_source(self) -> bool:
        return (self.value is None) != (self.secret_key_ref is None)


class ParentRef(ApiModel):
    """The Gateway (API gateway.networking.k8s.io) the HTTPRoute attaches to."""

    name: str = Field(pattern=patterns.DNS_SUBDOMAIN, max_length=253)
    namespace: str | None = Field(None, pattern=patterns.DNS_LABEL, max_length=63)
    section_name: str | None = Field(None, pattern=patterns.DNS_SUBDOMAIN, max_length=253)
    port: int | None = Field(None, ge=1, le=65535)


Hostname = Annotated[
    str,
    Field(
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", max_length=253
    ),
]


class HttpProbe(Probe):
    path: str = Field("/", pattern=r"^/[^\t\n\f\r ]*$", max_length=1024)


class KubernetesTarget(ApiModel):
    """Deployments and a Service per revision in this namespace, traffic split by a Gateway API HTTPRoute."""

    image: str = Field(
        pattern=patterns.IMAGE,
        max_length=512,
        description="The serving image; pin a tag or digest (not latest).",
    )
    port: int = Field(8080, ge=1, le=65535)
    replicas: int = Field(1, ge=0, le=1000, description="Replicas per revision when autoscaling is unset.")
    resources: Resources = Field(default_factory=Resources)
    env: list[EnvVar] = Field(
        default_factory=list,
        max_length=64,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    service_account_name: str | None = Field(None, pattern=patterns.DNS_SUBDOMAIN, max_length=253)
    gateway: ParentRef | None = Field(
        None, description="Required for online models; batch models have no route."
    )
    hostnames: list[Hostname] = Field(
        default_factory=list,
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    path_prefix: str = Field("/", pattern=r"^/[^\t\n\f\r ]*$", max_length=1024)
    liveness_probe: HttpProbe | None = None
    readiness_probe: HttpProbe | None = None

    @cel(
        IMAGE_PINNED_CEL.format(img="self.image"),
        "target.kubernetes.image must carry a tag other than latest, or a digest",
        field_path=".image",
    )
    def _image_pinned(self) -> bool:
        return image_is_pinned(self.image)

    @cel(
        "!has(self.resources.limits) || self.resources.limits.all(k, !has(self.resources.requests) || !(k "
        "in self.resources.requests) || "
        "quantity(string(self.resources.requests[k])).compareTo(quantity(string(self.resources.limits[k]))) "
        "<= 0)",
        "target.kubernetes.resources.requests must not exceed resources.limits",
        field_path=".resources",
    )
    def _requests_within_limits(self) -> bool:
        from .quantity import parse_quantity

        reqs, lims = self.resources.requests, self.resources.limits
        return all(parse_quantity(reqs[k]) <= parse_quantity(v) for k, v in lims.items() if k in reqs)


class Target(ApiModel):
    """Where revisions run. Set ``type`` and exactly the matching block."""

    type: Literal["kubernetes", "azureml", "serverless"] = Field(json_schema_extra=immutable("target.type"))
    kubernetes: KubernetesTarget | None = None
    azureml: AzureMLTarget | None = None
    serverless: ServerlessTarget | None = None

    @cel(
        "[has(self.kubernetes), has(self.azureml), has(self.serverless)].filter(x, x).size() == 1 && "
        "(self.type == 'kubernetes' ? has(self.kubernetes) : self.type == 'azureml' ? has(self.azureml) : "
        "has(self.serverless))",
        "target.type names the one block to set: target.kubernetes for kubernetes, target.azureml for "
        "azureml, target.serverless for serverless",
    )
    def _block_matches_type(self) -> bool:
        blocks = {"kubernetes": self.kubernetes, "azureml": self.azureml, "serverless": self.serverless}
        return blocks[self.type] is not None and sum(b is not None for b in blocks.values()) == 1
