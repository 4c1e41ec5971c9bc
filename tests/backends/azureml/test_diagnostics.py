"""Diagnostic settings on managed deployments: AllMetrics to Log Analytics, as infra's CPU alert needs."""

from __future__ import annotations

import io
import json
import re
from typing import Any, cast

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from pydantic import ValidationError

from kdap_infra.alert_queries import cpu_query
from modeldeploy.api.azure_names import DIAGNOSTIC_SETTING, deployment_name
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.azureml.diagnostics import (
    API_VERSION,
    ArmDiagnosticSettings,
    DiagnosticSetting,
    MetricSetting,
    arm_diagnostic_settings,
    deployment_setting,
)
from modeldeploy.ports import BackendError
from modeldeploy.rollout.serving import TrafficSplit
from tests.backends.azureml.fakes import http_error
from tests.backends.azureml.rig import Rig, example_spec

WORKSPACE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/kdap-prod-rg/providers/"
    "Microsoft.OperationalInsights/workspaces/kdap-prod-logs"
)


def _ready(rig: Rig, index: int = 0) -> str:
    request = rig.request(index)
    rig.backend.ensure_revision(rig.owner, request)
    rig.ws.settle()
    rig.backend.ensure_revision(rig.owner, request)
    return request.name


def _resource(rig: Rig, revision: str) -> str:
    target = rig.spec.target.azureml
    assert target is not None
    return rig.ws.deployment_id(target.endpoint_name, deployment_name(revision)).lower()


def _without_workspace(spec: ModelDeploymentSpec) -> ModelDeploymentSpec:
    manifest = spec.to_manifest()
    del manifest["target"]["azureml"]["logAnalyticsWorkspaceId"]
    return ModelDeploymentSpec.model_validate(manifest)


@pytest.fixture
def budget() -> Rig:
    rig = Rig(example_spec("budget-optimizer"))
    assert rig.spec.target.azureml is not None
    assert rig.spec.target.azureml.log_analytics_workspace_id == WORKSPACE  # the example shows the field
    return rig


def test_a_ready_managed_deployment_sends_all_metrics_to_the_workspace(budget: Rig) -> None:
    name = _ready(budget)
    body = budget.ws.diagnostics[(_resource(budget, name), DIAGNOSTIC_SETTING)]
    assert body["properties"]["workspaceId"] == WORKSPACE
    assert body["properties"]["metrics"] == [{"category": "AllMetrics", "enabled": True}]
    assert body["properties"]["logs"] == []
    assert budget.ws.count("diagnostic_settings.create_or_update") == 1


def test_the_setting_is_on_the_resource_the_cpu_alert_selects(budget: Rig) -> None:
    name = _ready(budget)
    [(resource, _)] = budget.ws.diagnostics
    target = budget.spec.target.azureml
    assert target is not None
    selector = re.search(r'_ResourceId has "([^"]+)"', cpu_query(target.endpoint_name))
    assert selector is not None
    assert selector.group(1).lower() in resource  # `has` is case-insensitive, so are ARM ids
    assert resource.endswith(deployment_name(name))


def test_an_equal_setting_is_not_written_again(budget: Rig) -> None:
    request = budget.request(0)
    _ready(budget)
    for _ in range(3):
        budget.backend.ensure_revision(budget.owner, request)
    assert budget.ws.count("diagnostic_settings.create_or_update") == 1
    assert budget.ws.count("diagnostic_settings.get") == 4


def test_a_setting_differing_only_in_id_casing_is_equal(budget: Rig) -> None:
    name = _ready(budget)
    key = (_resource(budget, name), DIAGNOSTIC_SETTING)
    budget.ws.diagnostics[key]["properties"]["workspaceId"] = WORKSPACE.lower()  # as ARM may return it
    budget.backend.ensure_revision(budget.owner, budget.request(0))
    assert budget.ws.count("diagnostic_settings.create_or_update") == 1


def test_a_changed_setting_is_restored(budget: Rig) -> None:
    name = _ready(budget)
    key = (_resource(budget, name), DIAGNOSTIC_SETTING)
    budget.ws.diagnostics[key]["properties"]["metrics"] = [{"category": "AllMetrics", "enabled": False}]
    budget.backend.ensure_revision(budget.owner, budget.request(0))
    assert budget.ws.count("diagnostic_settings.create_or_update") == 2
    assert budget.ws.diagnostics[key]["properties"]["metrics"][0]["enabled"] is True


def test_nothing_is_written_while_the_deployment_provisions(budget: Rig) -> None:
    budget.backend.ensure_revision(budget.owner, budget.request(0))
    assert budget.ws.count("diagnostic_settings.create_or_update") == 0
    assert budget.ws.diagnostics == {}


def test_no_workspace_id_means_no_diagnostic_calls() -> None:
    rig = Rig(_without_workspace(example_spec("budget-optimizer")))
    _ready(rig)
    assert not [call for call in rig.ws.calls if call.startswith("diagnostic_settings.")]
    assert rig.ws.diagnostics == {}


def test_kubernetes_deployments_get_no_setting() -> None:
    rig = Rig(example_spec("anomaly-detector"))
    name = _ready(rig)
    rig.backend.delete_revision(rig.owner, name)
    assert not [call for call in rig.ws.calls if call.startswith("diagnostic_settings.")]


def test_a_kubernetes_target_with_a_workspace_id_is_refused_naming_the_field() -> None:
    manifest = example_spec("anomaly-detector").to_manifest()
    manifest["target"]["azureml"]["logAnalyticsWorkspaceId"] = WORKSPACE
    with pytest.raises(ValidationError, match=r"logAnalyticsWorkspaceId needs endpointKind managed"):
        ModelDeploymentSpec.model_validate(manifest)


@pytest.mark.parametrize(
    "bad",
    [
        "kdap-prod-logs",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
        "Microsoft.Insights/components/appi-kdap",
    ],
)
def test_a_workspace_id_that_is_not_a_log_analytics_arm_id_is_refused(bad: str) -> None:
    manifest = example_spec("budget-optimizer").to_manifest()
    manifest["target"]["azureml"]["logAnalyticsWorkspaceId"] = bad
    with pytest.raises(ValidationError, match="logAnalyticsWorkspaceId"):
        ModelDeploymentSpec.model_validate(manifest)


def test_deleting_a_revision_deletes_its_setting_first(budget: Rig) -> None:
    """Azure keeps diagnostic settings of deleted resources (the fake does too): the backend removes them."""
    stable, old = _ready(budget, 0), _ready(budget, 1)
    assert len(budget.ws.diagnostics) == 2
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 100}))
    budget.backend.delete_revision(budget.owner, old)
    assert set(budget.ws.diagnostics) == {(_resource(budget, stable), DIAGNOSTIC_SETTING)}
    calls = budget.ws.calls
    assert calls.index("diagnostic_settings.delete") < calls.index("online_deployments.begin_delete")
    budget.backend.delete_all(budget.owner)
    assert budget.ws.diagnostics == {}


def test_a_setting_written_before_the_field_was_removed_is_still_deleted(budget: Rig) -> None:
    stable, old = _ready(budget, 0), _ready(budget, 1)
    budget.backend.set_traffic(budget.owner, TrafficSplit({stable: 100}))
    budget.spec = _without_workspace(budget.spec)
    budget.backend = budget.new_backend()
    budget.backend.delete_revision(budget.owner, old)
    assert (_resource(budget, old), DIAGNOSTIC_SETTING) not in budget.ws.diagnostics


def test_throttled_diagnostic_writes_are_retried(budget: Rig) -> None:
    budget.ws.faults.add(
        "diagnostic_settings.create_or_update", http_error(429, "TooManyRequests", "slow", retry_after="7")
    )
    _ready(budget)
    assert len(budget.ws.diagnostics) == 1
    assert budget.clock.slept == [7.0]


def test_a_refused_setting_becomes_a_backend_error_with_the_azure_code(budget: Rig) -> None:
    budget.ws.faults.add(
        "diagnostic_settings.create_or_update", http_error(403, "AuthorizationFailed", "no write")
    )
    with pytest.raises(BackendError) as info:
        _ready(budget)
    assert info.value.reason == "AuthorizationFailed"
    assert "Monitoring Contributor" in info.value.message


def test_the_fake_accepts_only_the_typed_setting_and_the_service_rules(budget: Rig) -> None:
    name = _ready(budget)
    uri = _resource(budget, name)
    ops = budget.ws.diagnostic_settings
    with pytest.raises(TypeError):
        ops.create_or_update(uri, "x", {"properties": {}})  # type: ignore[arg-type]
    with pytest.raises(HttpResponseError, match="Categories"):
        ops.create_or_update(uri, "x", DiagnosticSetting(WORKSPACE, (MetricSetting("Traffic"),)))
    with pytest.raises(HttpResponseError, match="workspaceId"):
        ops.create_or_update(uri, "x", deployment_setting("kdap-prod-logs"))
    with pytest.raises(ResourceNotFoundError):
        ops.create_or_update(
            uri.replace(deployment_name(name), "missing"), "x", deployment_setting(WORKSPACE)
        )


# --- the real client, at the HTTP boundary ---------------------------------------------------------------


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        assert scopes == ("https://management.azure.com/.default",)
        return AccessToken("t0ken", 4_102_444_800)


class _Adapter(requests.adapters.BaseAdapter):
    """The real RequestsTransport over a session whose adapter answers from a list; no network."""

    def __init__(self, *answers: tuple[int, dict[str, Any] | None]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        status, body = self.answers.pop(0)
        raw = requests.Response()
        raw.status_code, raw.reason, raw.request, raw.url = status, "x", request, str(request.url)
        raw.headers["Content-Type"] = "application/json"
        raw._content = json.dumps(body).encode() if body is not None else b""
        raw.raw = urllib3.HTTPResponse(body=io.BytesIO(raw._content), status=status, preload_content=False)
        return raw

    def close(self) -> None: ...


def _transport(adapter: _Adapter) -> RequestsTransport:
    session = requests.Session()
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=False)


def test_the_real_client_puts_the_setting_on_the_resource_with_the_preview_api() -> None:
    uri = (
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"
        "/onlineEndpoints/e/deployments/d"
    )
    stored = {
        "name": DIAGNOSTIC_SETTING,
        "properties": deployment_setting(WORKSPACE).serialize()["properties"],
    }
    adapter = _Adapter((200, stored), (200, stored), (204, None))
    client = arm_diagnostic_settings(_Token(), transport=_transport(adapter))
    written = client.create_or_update(uri, DIAGNOSTIC_SETTING, deployment_setting(WORKSPACE))
    assert written == deployment_setting(WORKSPACE)
    assert client.get(uri, DIAGNOSTIC_SETTING).workspace_id == WORKSPACE
    client.delete(uri, DIAGNOSTIC_SETTING)
    put, get, delete = adapter.requests
    assert (put.method, get.method, delete.method) == ("PUT", "GET", "DELETE")
    assert put.url == (
        f"https://management.azure.com{uri}/providers/Microsoft.Insights/diagnosticSettings/"
        f"{DIAGNOSTIC_SETTING}?api-version={API_VERSION}"
    )
    assert json.loads(cast(bytes, put.body))["properties"]["workspaceId"] == WORKSPACE
    assert put.headers["Authorization"] == "Bearer t0ken"


def test_the_real_client_maps_errors_and_does_not_retry() -> None:
    adapter = _Adapter(
        (404, {"error": {"code": "ResourceNotFound", "message": "gone"}}),
        (503, {"error": {"code": "ServiceUnavailable", "message": "busy"}}),
    )
    client = arm_diagnostic_settings(_Token(), transport=_transport(adapter))
    with pytest.raises(ResourceNotFoundError):
        client.get("/subscriptions/s/x", DIAGNOSTIC_SETTING)
    with pytest.raises(HttpResponseError) as info:
        client.create_or_update("/subscriptions/s/x", DIAGNOSTIC_SETTING, deployment_setting(WORKSPACE))
    assert info.value.status_code == 503
    assert info.value.error is not None
    assert info.value.error.code == "ServiceUnavailable"
    assert len(adapter.requests) == 2  # one each: the Guard retries, not the pipeline


def test_names_are_escaped_and_slashes_normalised_in_the_url() -> None:
    sent: list[HttpRequest] = []

    def send(request: HttpRequest) -> Any:
        sent.append(request)
        raise ResourceNotFoundError("gone")

    with pytest.raises(ResourceNotFoundError):
        ArmDiagnosticSettings(send).delete("/subscriptions/s/x/", "a b")
    assert sent[0].url == (
        "https://management.azure.com/subscriptions/s/x/providers/Microsoft.Insights/diagnosticSettings/a%20b"
        f"?api-version={API_VERSION}"
    )
