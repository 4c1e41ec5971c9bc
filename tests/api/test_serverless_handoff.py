"""Platform defaults for a serverless target (api/handoff.py): an LLM adapter infra declared needs no Azure
names in its ModelDeployment; where it lives (endpoint, adapter, gateway) is filled and pinned."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modeldeploy.api.crdgen import spec_schema
from modeldeploy.api.handoff import Handoff, PlatformDefaultsError, apply_platform_defaults
from modeldeploy.api.spec import ModelDeploymentSpec
from tests.api.mdep_cases import serverless_canary

SUB = "00000000-0000-4000-8000-000000000001"
GATEWAY = {"resourceGroup": "rg-kdap-prod", "service": "apim-kdap-prod-x1"}
LAW = (
    f"/subscriptions/{SUB}/resourceGroups/rg-kdap-prod/providers/Microsoft.OperationalInsights/workspaces/"
    "log-kdap-prod"
)
PUBLISHED: dict[str, Any] = {
    "subscriptionId": SUB,
    "logAnalyticsWorkspaceId": LAW,
    "resourceGroup": "rg-kdap-prod",
    "workspace": "mlw-kdap-prod",
    "models": {},
    "serverless": {
        "coding": {
            "modelDeployment": "team-llm/coding",
            "endpointName": "kdap-llama-31-8b-p4k9",
            "endpointKind": "serverless",
            "adapter": "coding",
            "gateway": GATEWAY,
        },
    },
}
HANDOFF = Handoff.parse("ConfigMap kdap-system/kdap-platform", PUBLISHED)
PINS = {
    "subscriptionId": SUB,
    "resourceGroup": "rg-kdap-prod",
    "workspace": "mlw-kdap-prod",
    "endpointName": "kdap-llama-31-8b-p4k9",
    "endpointKind": "serverless",
    "adapter": "coding",
    "gateway.resourceGroup": "rg-kdap-prod",
    "gateway.service": "apim-kdap-prod-x1",
}


def spec(**serverless: Any) -> dict[str, Any]:
    body = serverless_canary()
    body["target"]["serverless"] = serverless
    return body


def fill(
    body: dict[str, Any],
    pinned: dict[str, str] | None = None,
    handoff: Handoff | None = HANDOFF,
    name: str = "coding",
) -> tuple[dict[str, Any], dict[str, str]]:
    return apply_platform_defaults("team-llm", name, body, pinned or {}, handoff)


def test_a_declared_adapter_needs_no_azure_names_and_everything_used_is_pinned() -> None:
    filled, pins = fill(spec())
    assert pins == PINS
    target = ModelDeploymentSpec.model_validate(filled).target.serverless
    assert target is not None
    assert (target.endpoint_name, target.adapter, target.endpoint_kind) == (
        "kdap-llama-31-8b-p4k9",
        "coding",
        "serverless",
    )
    assert (target.gateway.resource_group, target.gateway.service) == ("rg-kdap-prod", "apim-kdap-prod-x1")
    assert (target.subscription_id, target.workspace) == (SUB, "mlw-kdap-prod")


def test_written_values_win_field_by_field_even_inside_the_gateway() -> None:
    filled, pins = fill(spec(adapter="coding-v2", gateway={"service": "apim-team-a"}))
    block = filled["target"]["serverless"]
    assert block["adapter"] == "coding-v2"
    assert block["gateway"] == {"resourceGroup": "rg-kdap-prod", "service": "apim-team-a"}
    assert (pins["adapter"], pins["gateway.service"]) == ("coding-v2", "apim-team-a")


def test_a_changed_handoff_never_moves_an_existing_adapter() -> None:
    _, pins = fill(spec())
    moved = copy.deepcopy(PUBLISHED)
    moved["serverless"]["coding"] |= {
        "endpointName": "kdap-llama-70b-p4k9",
        "gateway": {**GATEWAY, "service": "b"},
    }
    filled, again = fill(spec(), pins, Handoff.parse("ConfigMap x/y", moved))
    assert again == pins
    assert filled["target"]["serverless"]["endpointName"] == "kdap-llama-31-8b-p4k9"
    assert filled["target"]["serverless"]["gateway"]["service"] == "apim-kdap-prod-x1"


def test_a_written_gateway_that_contradicts_its_pin_is_refused() -> None:
    with pytest.raises(PlatformDefaultsError) as err:
        fill(spec(gateway={"service": "apim-elsewhere"}), PINS)
    assert str(err.value) == (
        'target.serverless.gateway.service is "apim-elsewhere" but this ModelDeployment was created with '
        '"apim-kdap-prod-x1": create a new ModelDeployment to change it'
    )


def test_an_undeclared_adapter_is_told_what_is_missing_and_where_to_declare_it() -> None:
    with pytest.raises(PlatformDefaultsError) as err:
        fill(spec(), name="creative")  # the workspace is the platform's; the endpoint is not declared for it
    assert str(err.value) == (
        "target.serverless.endpointName is not set and the platform does not provide it (ConfigMap "
        "kdap-system/kdap-platform): set it in the spec, or declare the adapter creative (namespace "
        "team-llm) in the stack's kdap-platform:serverless.adapters"
    )
    with pytest.raises(PlatformDefaultsError, match=r"subscriptionId is not set .*no platform handoff"):
        fill(spec(), handoff=None)


def test_malformed_adapter_entries_are_dropped_not_trusted() -> None:
    broken = copy.deepcopy(PUBLISHED)
    broken["serverless"]["coding"]["gateway"] = {"resourceGroup": "rg-kdap-prod", "service": "9-not-a-name"}
    broken["serverless"]["coding"]["adapter"] = "Coding_LoRA"
    handoff = Handoff.parse("ConfigMap x/y", broken)
    assert handoff.adapters["team-llm/coding"] == {
        "endpointName": "kdap-llama-31-8b-p4k9",
        "endpointKind": "serverless",
        "gateway.resourceGroup": "rg-kdap-prod",
    }
    with pytest.raises(PlatformDefaultsError, match=r"target\.serverless\.adapter is not set"):
        fill(spec(), handoff=handoff)


def test_the_crd_admits_an_empty_serverless_block_and_the_model_still_requires_every_field() -> None:
    block = spec_schema()["properties"]["target"]["properties"]["serverless"]
    assert "required" not in block
    assert "required" not in block["properties"]["gateway"]
    for key in ("subscriptionId", "resourceGroup", "workspace", "endpointName", "adapter"):
        assert "x-kdap-platform-default" not in block["properties"][key]
        assert "platform" in block["properties"][key]["description"]
    with pytest.raises(ValueError, match=r"target\.serverless\.endpointName\n  Field required"):
        ModelDeploymentSpec.model_validate(spec())  # unfilled: the operator never acts on it


def test_the_log_analytics_workspace_follows_the_platform_unpinned() -> None:
    filled, pins = fill(spec())
    assert filled["target"]["serverless"]["logAnalyticsWorkspaceId"] == LAW
    assert "logAnalyticsWorkspaceId" not in pins  # not where the adapter lives: where its logs are read
    moved = copy.deepcopy(PUBLISHED) | {"logAnalyticsWorkspaceId": LAW.replace("log-kdap-prod", "log-kdap-2")}
    filled, _ = fill(spec(), pins, Handoff.parse("ConfigMap x/y", moved))
    assert filled["target"]["serverless"]["logAnalyticsWorkspaceId"].endswith("/log-kdap-2")
    written, _ = fill(spec(logAnalyticsWorkspaceId=LAW.replace("log-kdap-prod", "log-team")), pins)
    assert written["target"]["serverless"]["logAnalyticsWorkspaceId"].endswith("/log-team")
