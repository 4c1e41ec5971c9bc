"""Diagnostic settings on managed online deployments: their AllMetrics go to a Log Analytics workspace.

The platform's CPU alert (infra ``alert_queries.cpu_query``) reads deployment CPU from ``AzureMetrics``, which
only holds what a diagnostic setting sends there, so each managed deployment the backend creates gets one.

azure-mgmt-monitor 7 (the version this project pins) targets stable API versions only and dropped the
``diagnostic_settings`` operation group and ``DiagnosticSettingsResource`` with them: the service's API
(``Microsoft.Insights/diagnosticSettings``, 2021-05-01-preview) is still a preview. ``ArmDiagnosticSettings``
therefore sends the three calls through an ``azure.mgmt.core.ARMPipelineClient`` built with the same policies
as the SDK's clients (ARM challenge authentication, ARM logging, and a RetryPolicy: off, as everywhere in the
backend, whose Guard retries) and keeps the operation group's former call shapes; ``DiagnosticSetting`` is the
typed resource body.

Azure does not delete a resource's diagnostic settings with the resource, and re-attaches them to a new
resource of the same id, so the backend deletes its setting before it deletes the deployment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, map_error
from azure.core.pipeline.policies import (
    ContentDecodePolicy,
    DistributedTracingPolicy,
    HeadersPolicy,
    NetworkTraceLoggingPolicy,
    ProxyPolicy,
    RedirectPolicy,
    RequestIdPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

API_VERSION = "2021-05-01-preview"
ARM_ENDPOINT = "https://management.azure.com"
ALL_METRICS = "AllMetrics"


@dataclass(frozen=True)
class MetricSetting:
    category: str = ALL_METRICS
    enabled: bool = True


@dataclass(frozen=True)
class LogSetting:
    category: str
    enabled: bool = True


@dataclass(frozen=True)
class DiagnosticSetting:
    """The body of ``Microsoft.Insights/diagnosticSettings`` (the SDK's former DiagnosticSettingsResource)."""

    workspace_id: str
    metrics: tuple[MetricSetting, ...] = (MetricSetting(),)
    logs: tuple[LogSetting, ...] = ()
    log_analytics_destination_type: str | None = None
    name: str | None = field(default=None, compare=False)
    id: str | None = field(default=None, compare=False)

    def serialize(self) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "workspaceId": self.workspace_id,
            "metrics": [{"category": m.category, "enabled": m.enabled} for m in self.metrics],
            "logs": [{"category": g.category, "enabled": g.enabled} for g in self.logs],
        }
        if self.log_analytics_destination_type is not None:
            properties["logAnalyticsDestinationType"] = self.log_analytics_destination_type
        return {"properties": properties}

    @classmethod
    def deserialize(cls, body: dict[str, Any]) -> DiagnosticSetting:
        props = body.get("properties") or {}
        return cls(
            workspace_id=str(props.get("workspaceId") or ""),
            metrics=tuple(
                MetricSetting(str(m.get("category")), bool(m.get("enabled")))
                for m in props.get("metrics") or []
            ),
            logs=tuple(
                LogSetting(str(g.get("category") or g.get("categoryGroup")), bool(g.get("enabled")))
                for g in props.get("logs") or []
            ),
            log_analytics_destination_type=props.get("logAnalyticsDestinationType"),
            name=body.get("name"),
            id=body.get("id"),
        )


def deployment_setting(workspace_id: str) -> DiagnosticSetting:
    """All metrics of a deployment to the workspace. Online deployments have no log categories of their own:
    console, traffic and event logs are categories of the endpoint resource."""
    return DiagnosticSetting(workspace_id=workspace_id, metrics=(MetricSetting(ALL_METRICS, True),))


def setting_fingerprint(setting: DiagnosticSetting) -> str:
    """What decides "is an update needed": the destination (ARM ids are case-insensitive) and categories."""
    return json.dumps(
        {
            "workspace": setting.workspace_id.lower(),
            "metrics": sorted((m.category.lower(), m.enabled) for m in setting.metrics),
            "logs": sorted((g.category.lower(), g.enabled) for g in setting.logs),
        },
        sort_keys=True,
    )


def _raise_for(response: HttpResponse) -> None:
    map_error(response.status_code, response, {404: ResourceNotFoundError})
    raise HttpResponseError(response=response, error_format=ARMErrorFormat)


@dataclass(frozen=True)
class ArmDiagnosticSettings:
    """The former ``DiagnosticSettingsOperations`` (get, create_or_update, delete) over an ARM pipeline.

    ``send`` is ``ARMPipelineClient.send_request`` (see ``arm_diagnostic_settings``).
    """

    send: Callable[[HttpRequest], HttpResponse]
    base_url: str = ARM_ENDPOINT

    def _url(self, resource_uri: str, name: str) -> str:
        return (
            f"{self.base_url.rstrip('/')}/{resource_uri.strip('/')}"
            f"/providers/Microsoft.Insights/diagnosticSettings/{quote(name, safe='')}"
        )

    def _call(self, method: str, resource_uri: str, name: str, body: Any = None) -> HttpResponse:
        request = HttpRequest(
            method,
            self._url(resource_uri, name),
            params={"api-version": API_VERSION},
            headers={"Accept": "application/json"},
            json=body,
        )
        return self.send(request)

    def get(self, resource_uri: str, name: str) -> DiagnosticSetting:
        response = self._call("GET", resource_uri, name)
        if response.status_code != 200:
            _raise_for(response)
        return DiagnosticSetting.deserialize(response.json())

    def create_or_update(
        self, resource_uri: str, name: str, parameters: DiagnosticSetting
    ) -> DiagnosticSetting:
        response = self._call("PUT", resource_uri, name, parameters.serialize())
        if response.status_code not in (200, 201):
            _raise_for(response)
        return DiagnosticSetting.deserialize(response.json())

    def delete(self, resource_uri: str, name: str) -> None:
        response = self._call("DELETE", resource_uri, name)
        if response.status_code not in (200, 204):
            _raise_for(response)


def arm_diagnostic_settings(
    credential: Any, *, base_url: str = ARM_ENDPOINT, retry_total: int = 0, **kwargs: Any
) -> ArmDiagnosticSettings:
    """The real client: the policies the generated ARM clients use; ``kwargs`` reach the policies and the
    transport as they do there (``transport=`` replaces the HTTP transport)."""
    scope = f"{base_url.rstrip('/')}/.default"
    policies = [
        RequestIdPolicy(**kwargs),
        HeadersPolicy(**kwargs),
        UserAgentPolicy(sdk_moniker="kdap-modeldeploy-diagnostics", **kwargs),
        ProxyPolicy(**kwargs),
        ContentDecodePolicy(**kwargs),
        RedirectPolicy(**kwargs),
        RetryPolicy(retry_total=retry_total, **kwargs),
        ARMChallengeAuthenticationPolicy(credential, scope),
        NetworkTraceLoggingPolicy(**kwargs),
        DistributedTracingPolicy(**kwargs),
        ARMHttpLoggingPolicy(**kwargs),
    ]
    client: ARMPipelineClient[HttpRequest, HttpResponse] = ARMPipelineClient(
        base_url=base_url, policies=policies, **kwargs
    )
    return ArmDiagnosticSettings(send=client.send_request, base_url=base_url)
