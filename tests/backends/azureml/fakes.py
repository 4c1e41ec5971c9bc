"""In-memory Azure ML workspace, Azure Monitor autoscale and diagnostic settings, at the SDK boundary.

The fakes take and return only the SDKs' own entity types, store what the SDK would send (the REST objects
from the entities' own serialisers) and enforce the service's rules, answering violations the way Azure
does: ``HttpResponseError`` with an ARM error body. The SDK's client-side quirks are reproduced too (zero
traffic weights dropped and keys lower-cased on update, zeros filled in on ``get``).

Provisioning is explicit: create/update leaves a deployment ``Creating``/``Updating`` until the test calls
``complete``/``fail`` (or ``settle``), so in-flight operations and operator restarts can be staged without
threads or sleeping. ``faults`` injects errors (429/5xx/timeouts) into any named operation.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
from azure.ai.ml.entities import (
    DefaultScaleSettings,
    EndpointAuthKeys,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineDeployment,
    OnlineEndpoint,
    ResourceRequirementsSettings,
)
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.transport import HttpRequest, RequestsTransportResponse
from azure.mgmt.monitor.models import AutoscaleSettingResource

from modeldeploy.api.azure_names import deployment_resource_id
from modeldeploy.backends.azureml.diagnostics import DiagnosticSetting

_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
_TERMINAL = {"Succeeded", "Failed", "Canceled"}
_LOG_ANALYTICS_ID = re.compile(
    r"^/subscriptions/[0-9a-f-]{36}/resourcegroups/[^/]+/providers/microsoft\.operationalinsights/workspaces/[^/]+$",
    re.IGNORECASE,
)
_DEPLOYMENT_METRIC_CATEGORIES = {"allmetrics"}  # online deployments have no log categories
MAX_DIAGNOSTIC_SETTINGS = 5  # per resource


def _state(entity: Any) -> str:
    state = entity.provisioning_state
    return str(getattr(state, "value", state))


def http_error(status: int, code: str, message: str, *, retry_after: str | None = None) -> HttpResponseError:
    """An ``HttpResponseError`` built from a real transport response with an ARM error body."""
    raw = requests.Response()
    raw.status_code = status
    raw.reason = {404: "Not Found", 409: "Conflict", 429: "Too Many Requests"}.get(status, "Error")
    raw.headers["Content-Type"] = "application/json"
    if retry_after is not None:
        raw.headers["Retry-After"] = retry_after
    raw._content = json.dumps({"error": {"code": code, "message": message}}).encode()
    response = RequestsTransportResponse(HttpRequest("PUT", "https://management.azure.com/fake"), raw)
    kind = {404: ResourceNotFoundError, 409: ResourceExistsError}.get(status, HttpResponseError)
    return kind(response=response)


def _bad_request(message: str, code: str = "BadArgument") -> HttpResponseError:
    return http_error(400, code, message)


@dataclass
class FakePoller:
    """What ``LROPoller`` offers the backend: ``done`` and ``result``, driven by the fake's state."""

    workspace: FakeWorkspace
    key: tuple[str, str] | None = None  # (endpoint, deployment) for deployment operations
    value: Any = None

    def done(self) -> bool:
        if self.key is None:
            return True
        rest = self.workspace.deployments.get(self.key)
        return rest is None or _state(rest.properties) in _TERMINAL

    def result(self, timeout: float | None = None) -> Any:
        if not self.done():
            return None  # LROPoller.result(timeout) returns without a resource when time runs out
        if self.key is not None and self.key in self.workspace.failures:
            raise self.workspace.failures[self.key]
        return self.value

    def status(self) -> str:
        return "Succeeded" if self.done() else "InProgress"


# Azure Resource Manager refuses these in a tag's name (and names over 512 characters, values over 256).
ARM_TAG_NAME_FORBIDDEN = set("<>%&\\?/")


def check_arm_tags(tags: dict[str, str] | None) -> None:
    """Refuse tags as ARM does for any resource, online and batch endpoints and deployments included."""
    for name, value in (tags or {}).items():
        if set(name) & ARM_TAG_NAME_FORBIDDEN or len(name) > 512 or not name.strip():
            raise _bad_request(
                f"The tag name '{name}' has reserved characters '<,>,%,&,\\,?,/' or is invalid.",
                "InvalidTagNameCharacters",
            )
        if len(str(value)) > 256:
            raise _bad_request(f"The tag '{name}' has a value over 256 characters.", "InvalidTagValueLength")


@dataclass
class Faults:
    """Errors to raise, in order, from named operations (e.g. ``online_deployments.get``)."""

    queued: dict[str, deque[BaseException]] = field(default_factory=lambda: defaultdict(deque))

    def add(self, operation: str, *errors: BaseException) -> None:
        self.queued[operation].extend(errors)

    def pending(self, operation: str) -> int:
        return len(self.queued[operation])


class FakeWorkspace:
    """One Azure ML workspace with its online endpoints, plus the resource group's autoscale settings."""

    def __init__(
        self,
        subscription: str = "00000000-0000-0000-0000-000000000001",
        resource_group: str = "rg-kdap",
        workspace: str = "mlw-kdap",
        location: str = "westeurope",
    ) -> None:
        self.subscription, self.resource_group, self.workspace = subscription, resource_group, workspace
        self.location = location
        self.endpoints: dict[str, Any] = {}  # name -> REST OnlineEndpoint data
        self.deployments: dict[tuple[str, str], Any] = {}  # (endpoint, name) -> REST OnlineDeployment data
        self.autoscale: dict[tuple[str, str], dict[str, Any]] = {}  # (rg, name) -> serialised setting
        # (lower-cased resource id, name) -> serialised diagnostic setting; like Azure, they outlive resources
        self.diagnostics: dict[tuple[str, str], dict[str, Any]] = {}
        self.failures: dict[tuple[str, str], HttpResponseError] = {}
        self.faults = Faults()
        self.calls: list[str] = []
        self.hold_endpoints = False  # keep endpoint operations "Updating" until complete_endpoint()
        self.online_endpoints = FakeOnlineEndpoints(self)
        self.online_deployments = FakeOnlineDeployments(self)
        self.autoscale_settings = FakeAutoscaleSettings(self)
        self.diagnostic_settings = FakeDiagnosticSettings(self)

    # --- test controls -------------------------------------------------------------------------------
    def hit(self, operation: str) -> None:
        self.calls.append(operation)
        queue = self.faults.queued[operation]
        if queue:
            raise queue.popleft()

    def complete(self, endpoint: str, deployment: str) -> None:
        self.deployments[(endpoint, deployment)].properties.provisioning_state = "Succeeded"
        self.failures.pop((endpoint, deployment), None)

    def fail(self, endpoint: str, deployment: str, code: str, message: str) -> None:
        self.deployments[(endpoint, deployment)].properties.provisioning_state = "Failed"
        self.failures[(endpoint, deployment)] = http_error(400, code, message)

    def complete_endpoint(self, endpoint: str) -> None:
        self.endpoints[endpoint].properties.provisioning_state = "Succeeded"

    def settle(self) -> None:
        """Finish every in-flight operation successfully."""
        for name in self.endpoints:
            self.complete_endpoint(name)
        for (endpoint, name), rest in self.deployments.items():
            if _state(rest.properties) not in _TERMINAL:
                self.complete(endpoint, name)

    def count(self, operation: str) -> int:
        return self.calls.count(operation)

    # --- shared service rules ------------------------------------------------------------------------
    def endpoint_rest(self, name: str) -> Any:
        rest = self.endpoints.get(name)
        if rest is None:
            raise http_error(404, "ResourceNotFound", f"online endpoint {name!r} not found")
        return rest

    def endpoint_deployments(self, endpoint: str) -> dict[str, Any]:
        return {d: rest for (e, d), rest in self.deployments.items() if e == endpoint}

    def deployment_id(self, endpoint: str, name: str) -> str:
        return deployment_resource_id(self.subscription, self.resource_group, self.workspace, endpoint, name)


def _check_traffic(ws: FakeWorkspace, endpoint: OnlineEndpoint) -> None:
    """The service's traffic rules, applied to what the SDK sends."""
    live, mirror = endpoint.traffic or {}, endpoint.mirror_traffic or {}
    existing = set(ws.endpoint_deployments(str(endpoint.name)))
    unknown = sorted((set(live) | set(mirror)) - existing)
    if unknown:
        raise _bad_request(f"Traffic routed to deployments that do not exist: {unknown}")
    if live and sum(int(v) for v in live.values()) != 100:
        raise _bad_request(f"Traffic must sum to 100, got {sum(int(v) for v in live.values())}")
    if not mirror:
        return
    if isinstance(endpoint, KubernetesOnlineEndpoint):
        raise _bad_request("Mirror traffic is not supported for Kubernetes online endpoints")
    if len(mirror) > 1 or sum(int(v) for v in mirror.values()) > 50:
        raise _bad_request("Mirror traffic must target one deployment with at most 50 percent")
    if any(int(live.get(name, 0)) > 0 for name in mirror):
        raise _bad_request("A deployment cannot receive both live and mirror traffic")


class FakeOnlineEndpoints:
    def __init__(self, ws: FakeWorkspace) -> None:
        self._ws = ws

    def get(self, name: str) -> OnlineEndpoint:
        self._ws.hit("online_endpoints.get")
        rest = self._ws.endpoint_rest(name)
        entity = OnlineEndpoint._from_rest_object(rest)
        for deployment in self._ws.endpoint_deployments(name):  # the SDK fills zeros for the rest
            if not entity.traffic.get(deployment) and not entity.mirror_traffic.get(deployment):
                entity.traffic[deployment] = 0
        return entity

    def get_keys(self, name: str) -> EndpointAuthKeys:
        self._ws.hit("online_endpoints.get_keys")
        self._ws.endpoint_rest(name)
        return EndpointAuthKeys(primary_key=f"key-of-{name}", secondary_key=f"key2-of-{name}")

    def begin_create_or_update(self, endpoint: OnlineEndpoint) -> FakePoller:
        if type(endpoint) not in (ManagedOnlineEndpoint, KubernetesOnlineEndpoint):
            raise TypeError(
                f"expected ManagedOnlineEndpoint or KubernetesOnlineEndpoint, got {type(endpoint)}"
            )
        self._ws.hit("online_endpoints.begin_create_or_update")
        check_arm_tags(endpoint.tags)
        # Client side, as the SDK does it: zero weights dropped, keys lower-cased.
        endpoint.traffic = {k.lower(): v for k, v in (endpoint.traffic or {}).items() if v and int(v) != 0}
        endpoint.mirror_traffic = {
            k.lower(): v for k, v in (endpoint.mirror_traffic or {}).items() if v and int(v) != 0
        }
        rest = endpoint._to_rest_online_endpoint(self._ws.location)  # validates the name, like the SDK
        existing = self._ws.endpoints.get(str(endpoint.name))
        if existing is not None:
            if type(OnlineEndpoint._from_rest_object(existing)) is not type(endpoint):
                raise _bad_request("An endpoint's compute type cannot change")
            if _state(existing.properties) not in _TERMINAL:
                raise http_error(409, "Conflict", f"Endpoint {endpoint.name} has an operation in progress")
        _check_traffic(self._ws, endpoint)
        rest.name = endpoint.name
        rest.id = f"{self._ws.deployment_id(str(endpoint.name), 'x').rsplit('/deployments/', 1)[0]}"
        rest.properties.provisioning_state = "Updating" if self._ws.hold_endpoints else "Succeeded"
        # Read-only, set by the service: where the endpoint answers (the azureml-model-deployment header
        # picks a deployment there).
        rest.properties.scoring_uri = (
            f"https://{endpoint.name}.{self._ws.location}.inference.ml.azure.com/score"
        )
        self._ws.endpoints[str(endpoint.name)] = rest
        return FakePoller(self._ws, value=OnlineEndpoint._from_rest_object(rest))

    def begin_delete(self, name: str) -> FakePoller:
        self._ws.hit("online_endpoints.begin_delete")
        self._ws.endpoint_rest(name)
        del self._ws.endpoints[name]
        for key in [k for k in self._ws.deployments if k[0] == name]:
            del self._ws.deployments[key]  # deployments go with their endpoint; autoscale settings do not
        return FakePoller(self._ws)


class FakeOnlineDeployments:
    def __init__(self, ws: FakeWorkspace) -> None:
        self._ws = ws

    def get(self, name: str, endpoint_name: str) -> OnlineDeployment:
        self._ws.hit("online_deployments.get")
        self._ws.endpoint_rest(endpoint_name)
        rest = self._ws.deployments.get((endpoint_name, name))
        if rest is None:
            raise http_error(404, "ResourceNotFound", f"deployment {name!r} not found on {endpoint_name!r}")
        entity = OnlineDeployment._from_rest_object(rest)
        entity.endpoint_name = endpoint_name
        return entity

    def list(self, endpoint_name: str) -> Iterator[OnlineDeployment]:
        self._ws.hit("online_deployments.list")
        self._ws.endpoint_rest(endpoint_name)
        return iter(
            [
                OnlineDeployment._from_rest_object(r)
                for r in self._ws.endpoint_deployments(endpoint_name).values()
            ]
        )

    def begin_create_or_update(self, deployment: OnlineDeployment) -> FakePoller:
        if type(deployment) not in (ManagedOnlineDeployment, KubernetesOnlineDeployment):
            raise TypeError(f"expected a Managed/KubernetesOnlineDeployment, got {type(deployment)}")
        self._ws.hit("online_deployments.begin_create_or_update")
        check_arm_tags(deployment.tags)
        endpoint_name = str(deployment.endpoint_name)
        endpoint = OnlineEndpoint._from_rest_object(self._ws.endpoint_rest(endpoint_name))
        if _state(endpoint) != "Succeeded":
            raise http_error(409, "Conflict", f"Endpoint {endpoint_name} is not in a terminal state")
        kubernetes = isinstance(endpoint, KubernetesOnlineEndpoint)
        if kubernetes != isinstance(deployment, KubernetesOnlineDeployment):
            raise _bad_request(
                f"Deployment type {type(deployment).__name__} does not match the endpoint's compute"
            )
        if not deployment.name or not _NAME.match(deployment.name):
            raise _bad_request(f"Invalid deployment name {deployment.name!r}: 3-32 letters, digits, dashes")
        if not deployment.instance_type or not deployment.instance_count or deployment.instance_count < 1:
            raise _bad_request("instance_type and an instance_count >= 1 are required")
        if deployment.model is None:
            raise _bad_request("A model is required")
        if isinstance(deployment.model, Model):  # the SDK's orchestrator registers inline models first
            path = str(deployment.model.path or "")
            if not re.match(r"^(azureml://|https://)", path):
                raise _bad_request(f"Model path {path!r} must be a datastore or https URI, not a local path")
            ws = self._ws
            deployment.model = (
                f"/subscriptions/{ws.subscription}/resourceGroups/{ws.resource_group}/providers/"
                f"Microsoft.MachineLearningServices/workspaces/{ws.workspace}/models/"
                f"{deployment.model.name}/versions/{deployment.model.version}"
            )
        key = (endpoint_name, deployment.name)
        previous = self._ws.deployments.get(key)
        if previous is not None and _state(previous.properties) not in _TERMINAL:
            raise http_error(409, "Conflict", f"Deployment {deployment.name} has an operation in progress")
        rest = deployment._to_rest_object(self._ws.location)
        rest.id, rest.name = self._ws.deployment_id(*key), deployment.name
        if rest.properties.scale_settings is None:  # the service always reports a scale type
            rest.properties.scale_settings = DefaultScaleSettings()._to_rest_object()
        if kubernetes and rest.properties.container_resource_requirements is None:
            rest.properties.container_resource_requirements = ResourceRequirementsSettings()._to_rest_object()
        rest.properties.provisioning_state = "Creating" if previous is None else "Updating"
        self._ws.deployments[key] = rest
        self._ws.failures.pop(key, None)
        return FakePoller(self._ws, key=key)

    def begin_delete(self, name: str, endpoint_name: str) -> FakePoller:
        self._ws.hit("online_deployments.begin_delete")
        endpoint = self._ws.endpoint_rest(endpoint_name)
        if (endpoint_name, name) not in self._ws.deployments:
            raise http_error(404, "ResourceNotFound", f"deployment {name!r} not found")
        live = endpoint.properties.traffic or {}
        mirror = endpoint.properties.mirror_traffic or {}
        if int(live.get(name, 0)) > 0 or int(mirror.get(name, 0)) > 0:
            raise _bad_request(f"Deployment {name} still receives traffic; set its traffic to 0 first")
        del self._ws.deployments[(endpoint_name, name)]
        return FakePoller(self._ws)

    def get_logs(self, name: str, endpoint_name: str, lines: int) -> str:
        self._ws.hit("online_deployments.get_logs")
        failure = self._ws.failures.get((endpoint_name, name))
        return f"container exited: {failure.error.message if failure and failure.error else 'ok'}"


def _check_autoscale(ws: FakeWorkspace, setting: AutoscaleSettingResource) -> None:
    missing = [f for f in ("location", "profiles") if getattr(setting, f, None) in (None, "")]
    if missing:
        raise _bad_request(f"Invalid autoscale setting: {missing} required", code="InvalidRequestContent")
    target = str(setting.target_resource_uri or "")
    match = re.search(r"/onlineEndpoints/([^/]+)/deployments/([^/]+)$", target)
    if match is None or (match.group(1), match.group(2)) not in ws.deployments:
        raise http_error(404, "TargetResourceNotFound", f"Autoscale target {target!r} not found")
    if isinstance(OnlineEndpoint._from_rest_object(ws.endpoints[match.group(1)]), KubernetesOnlineEndpoint):
        raise _bad_request("Kubernetes online deployments cannot be autoscaled by Azure Monitor")
    if not 1 <= len(setting.profiles) <= 20:
        raise _bad_request(f"An autoscale setting takes 1 to 20 profiles, got {len(setting.profiles)}")
    for profile in setting.profiles:
        capacity = profile.capacity
        low, default, high = int(capacity.minimum), int(capacity.default), int(capacity.maximum)
        if not low <= default <= high:
            raise _bad_request(
                f"Profile {profile.name}: need minimum <= default <= maximum", code="InvalidCapacity"
            )
        if len(profile.rules) > 10:
            raise _bad_request(f"Profile {profile.name}: at most 10 rules")
        for rule in profile.rules:
            if not timedelta(minutes=1) <= rule.scale_action.cooldown <= timedelta(weeks=1):
                raise _bad_request(f"Profile {profile.name}: cooldown must be between PT1M and P7D")


class FakeAutoscaleSettings:
    def __init__(self, ws: FakeWorkspace) -> None:
        self._ws = ws

    def get(self, resource_group_name: str, autoscale_setting_name: str) -> AutoscaleSettingResource:
        self._ws.hit("autoscale_settings.get")
        body = self._ws.autoscale.get((resource_group_name, autoscale_setting_name))
        if body is None:
            raise http_error(
                404, "ResourceNotFound", f"autoscale setting {autoscale_setting_name!r} not found"
            )
        return AutoscaleSettingResource.deserialize(body)

    def create_or_update(
        self, resource_group_name: str, autoscale_setting_name: str, parameters: AutoscaleSettingResource
    ) -> AutoscaleSettingResource:
        if type(parameters) is not AutoscaleSettingResource:
            raise TypeError(f"expected AutoscaleSettingResource, got {type(parameters)}")
        self._ws.hit("autoscale_settings.create_or_update")
        if resource_group_name != self._ws.resource_group:
            raise http_error(
                404, "ResourceGroupNotFound", f"resource group {resource_group_name!r} not found"
            )
        _check_autoscale(self._ws, parameters)
        body = parameters.serialize()
        body["name"] = autoscale_setting_name
        body["id"] = (
            f"/subscriptions/{self._ws.subscription}/resourceGroups/{resource_group_name}"
            f"/providers/microsoft.insights/autoscalesettings/{autoscale_setting_name}"
        )
        self._ws.autoscale[(resource_group_name, autoscale_setting_name)] = body
        return AutoscaleSettingResource.deserialize(body)

    def delete(self, resource_group_name: str, autoscale_setting_name: str) -> None:
        self._ws.hit("autoscale_settings.delete")
        self._ws.autoscale.pop((resource_group_name, autoscale_setting_name), None)  # ARM: 200 or 204


class FakeDiagnosticSettings:
    """``Microsoft.Insights/diagnosticSettings`` on online deployments (an extension resource under them)."""

    def __init__(self, ws: FakeWorkspace) -> None:
        self._ws = ws

    def _target(self, resource_uri: str) -> str:
        match = re.search(r"/onlineEndpoints/([^/]+)/deployments/([^/]+)$", resource_uri, re.IGNORECASE)
        key = None
        if match is not None:
            key = next(
                (
                    k
                    for k in self._ws.deployments
                    if self._ws.deployment_id(*k).lower() == resource_uri.lower()
                ),
                None,
            )
        if key is None:
            raise http_error(404, "ResourceNotFound", f"The resource {resource_uri!r} was not found")
        return resource_uri.lower()

    def get(self, resource_uri: str, name: str) -> DiagnosticSetting:
        self._ws.hit("diagnostic_settings.get")
        body = self._ws.diagnostics.get((self._target(resource_uri), name))
        if body is None:
            raise http_error(404, "ResourceNotFound", f"diagnostic setting {name!r} not found")
        return DiagnosticSetting.deserialize(body)

    def create_or_update(
        self, resource_uri: str, name: str, parameters: DiagnosticSetting
    ) -> DiagnosticSetting:
        if type(parameters) is not DiagnosticSetting:
            raise TypeError(f"expected DiagnosticSetting, got {type(parameters)}")
        self._ws.hit("diagnostic_settings.create_or_update")
        target = self._target(resource_uri)
        body = parameters.serialize()
        props = body["properties"]
        if not _LOG_ANALYTICS_ID.match(props.get("workspaceId") or ""):
            raise _bad_request(f"Invalid workspaceId {props.get('workspaceId')!r}", code="InvalidParameter")
        unsupported = sorted(
            {
                str(m["category"])
                for m in props["metrics"]
                if m["category"].lower() not in _DEPLOYMENT_METRIC_CATEGORIES
            }
            | {str(g["category"]) for g in props["logs"]}
        )
        if unsupported:
            raise _bad_request(f"Categories {unsupported} are not supported", code="InvalidParameter")
        if not any(m["enabled"] for m in props["metrics"]) and not any(g["enabled"] for g in props["logs"]):
            raise _bad_request("At least one category must be enabled", code="InvalidParameter")
        existing = [n for (uri, n) in self._ws.diagnostics if uri == target]
        if name not in existing and len(existing) >= MAX_DIAGNOSTIC_SETTINGS:
            raise _bad_request("At most 5 diagnostic settings per resource", code="Conflict")
        body["name"], body["id"] = (
            name,
            f"{resource_uri}/providers/microsoft.insights/diagnosticSettings/{name}",
        )
        self._ws.diagnostics[(target, name)] = body
        return DiagnosticSetting.deserialize(body)

    def delete(self, resource_uri: str, name: str) -> None:
        self._ws.hit("diagnostic_settings.delete")
        self._ws.diagnostics.pop((self._target(resource_uri), name), None)  # ARM: 200 or 204
