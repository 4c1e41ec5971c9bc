"""A serverless (model-as-a-service) LLM endpoint: the base model serves every adapter, and the gateway in
front of it, API Management, splits each adapter's traffic between its versions.

A serverless endpoint has no traffic split of its own (one endpoint, one model, pay per token), so a
revision here is one *adapter version* (``model.registry``: the adapter registered in Azure ML) and the
split lives in the gateway: the API Management named value ``<endpoint>-adapter-<adapter>`` (see
``platform.adapter_routes_name``), which the LLM API's policy reads to rewrite each request's ``adapter_id``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from . import patterns
from .base import ApiModel, immutable
from .structural import PLATFORM_DEFAULT

# API Management service names: 1-50 letters, digits and hyphens, starting with a letter.
APIM_SERVICE = r"^[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$"
# What clients send as adapter_id (and what names the named value): a DNS label, at most 32 characters.
ADAPTER = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"

# Every field but the endpoint kind may come from the platform's handoff (api/handoff.py): infra declares
# each adapter with its endpoint and gateway, so a ModelDeployment for one may name nothing of Azure.
_PLATFORM = (
    "Leave it out to take what the platform declared for this adapter (its namespace/name in the stack's "
    "kdap-platform:serverless.adapters, published in the ConfigMap kdap-system/kdap-platform); the value "
    "used is pinned in status.platformDefaults, so a later platform change never moves this object."
)


def _platform_default(label: str) -> dict[str, Any]:
    return {**immutable(label), PLATFORM_DEFAULT: True}


_WORKSPACE_MODEL = re.compile(r"^azureml:(?P<name>[^:/]+):(?P<version>[^:/]+)$")
_REGISTRY_MODEL = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$"
)


class ApiGateway(ApiModel):
    """The API Management instance in front of the endpoint, in the target's subscription."""

    resource_group: str = Field(
        pattern=patterns.RESOURCE_GROUP,
        max_length=90,
        description=_PLATFORM,
        json_schema_extra=_platform_default("target.serverless.gateway.resourceGroup"),
    )
    service: str = Field(
        pattern=APIM_SERVICE,
        max_length=50,
        description=_PLATFORM,
        json_schema_extra=_platform_default("target.serverless.gateway.service"),
    )


class ServerlessTarget(ApiModel):
    """One adapter of an Azure ML serverless endpoint; each revision is one version of the adapter."""

    subscription_id: str = Field(
        pattern=patterns.UUID,
        max_length=36,
        description=_PLATFORM,
        json_schema_extra=_platform_default("target.serverless.subscriptionId"),
    )
    resource_group: str = Field(
        pattern=patterns.RESOURCE_GROUP,
        max_length=90,
        description=_PLATFORM,
        json_schema_extra=_platform_default("target.serverless.resourceGroup"),
    )
    workspace: str = Field(
        pattern=patterns.WORKSPACE,
        max_length=33,
        json_schema_extra=_platform_default("target.serverless.workspace"),
        description="The Azure ML workspace (or AI Foundry project) holding the serverless endpoint. "
        + _PLATFORM,
    )
    endpoint_name: str = Field(
        pattern=patterns.ENDPOINT,
        max_length=32,
        json_schema_extra=_platform_default("target.serverless.endpointName"),
        description="The endpoint serving the base model (infra creates it, serverless or managed as the "
        "stack's kdap-platform:serverless.endpointKind says). " + _PLATFORM,
    )
    endpoint_kind: Literal["serverless", "managed"] = Field(
        "serverless",
        json_schema_extra=immutable("target.serverless.endpointKind"),
        description=(
            "serverless: a model-as-a-service endpoint (pay per token; the default). managed: a managed "
            "online endpoint running an OpenAI-compatible multi-LoRA server (vLLM with adapters from the "
            "registry) under the same name; the gateway routes both the same way."
        ),
    )
    adapter: str = Field(
        pattern=ADAPTER,
        max_length=32,
        json_schema_extra=_platform_default("target.serverless.adapter"),
        description="The adapter_id clients send; the gateway rewrites it to the version the split picks. "
        + _PLATFORM,
    )
    log_analytics_workspace_id: str | None = Field(
        None,
        pattern=patterns.LOG_ANALYTICS_WORKSPACE_ID,
        max_length=512,
        description="The ARM id of the Log Analytics workspace the LLM API logs to, which analysis metrics "
        "with provider logAnalytics query. Leave it out to take the platform's (the handoff's "
        "logAnalyticsWorkspaceId); not pinned: it follows the platform.",
    )
    gateway: ApiGateway = Field(
        description="The API Management instance holding the adapter's route table. " + _PLATFORM,
        json_schema_extra={PLATFORM_DEFAULT: True},
    )


def adapter_version(model_ref: str) -> tuple[str | None, str, str]:
    """``(registry or None, name, version)`` of ``azureml:name:version`` or a registry model URI."""
    m = _REGISTRY_MODEL.match(model_ref)
    if m:
        return m["registry"], m["name"], m["version"]
    m = _WORKSPACE_MODEL.match(model_ref)
    if m:
        return None, m["name"], m["version"]
    raise ValueError(f"{model_ref!r} is neither azureml:name:version nor azureml://registries/.../versions/v")


def routed_adapter_id(model_ref: str) -> str:
    """What the gateway writes into ``adapter_id`` for this version: ``<registered name>:<version>``, the
    name the serving side loads the adapter by from the registry."""
    _, name, version = adapter_version(model_ref)
    return f"{name}:{version}"
