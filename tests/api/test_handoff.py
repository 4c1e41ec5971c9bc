"""Platform defaults (api/handoff.py): what an Azure ML target may leave out, filled and pinned."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modeldeploy.api.crdgen import spec_schema
from modeldeploy.api.handoff import Handoff, PlatformDefaultsError, apply_platform_defaults
from modeldeploy.api.spec import ModelDeploymentSpec

SUB = "00000000-0000-4000-8000-000000000001"
LAW = (
    f"/subscriptions/{SUB}/resourceGroups/rg-kdap-prod/providers/Microsoft.OperationalInsights/workspaces/"
    "log-kdap-prod"
)
PUBLISHED: dict[str, Any] = {
    "subscriptionId": SUB,
    "resourceGroup": "rg-kdap-prod",
    "workspace": "mlw-kdap-prod",
    "logAnalyticsWorkspaceId": LAW,
    "apim": {"resourceGroup": "rg-kdap-prod", "serviceName": "apim-kdap-prod-x1"},
    "models": {
        "budget-optimizer": {
            "modelDeployment": "ml-serving/budget-optimizer",
            "endpointName": "budget-optimizer-prod",
            "endpointKind": "managed",
            "compute": None,
            "instanceType": "Standard_DS3_v2",
            "versionNamedValue": "budget-optimizer-model-version",
        },
        "anomaly-detector": {
            "modelDeployment": "ml-serving/anomaly-detector",
            "endpointName": "anomaly-detector-prod",
            "endpointKind": "kubernetes",
            "compute": "aks-inference",
            "instanceType": "defaultinstancetype",
        },
    },
}
HANDOFF = Handoff.parse("ConfigMap kdap-system/kdap-platform", PUBLISHED)


def spec(**azureml: Any) -> dict[str, Any]:
    return {
        "model": {
            "name": "budget-optimizer",
            "version": "1.0.0",
            "registry": "azureml:budget-optimizer:1",
            "framework": "mlflow",
        },
        "strategy": {"type": "canary", "canary": {"steps": [{"weight": 10}, {"weight": 100}]}},
        "target": {"type": "azureml", "azureml": azureml},
    }


def fill(
    name: str, body: dict[str, Any], pinned: dict[str, str] | None = None, handoff: Handoff | None = HANDOFF
):
    return apply_platform_defaults("ml-serving", name, body, pinned or {}, handoff)


def test_a_declared_model_needs_no_azure_names_and_everything_used_is_pinned() -> None:
    filled, pins = fill("budget-optimizer", spec())
    aml = filled["target"]["azureml"]
    assert pins == {
        "subscriptionId": SUB,
        "resourceGroup": "rg-kdap-prod",
        "workspace": "mlw-kdap-prod",
        "endpointName": "budget-optimizer-prod",
        "endpointKind": "managed",
        "instanceType": "Standard_DS3_v2",
    }
    assert aml["logAnalyticsWorkspaceId"] == LAW
    assert "compute" not in aml
    target = ModelDeploymentSpec.model_validate(filled).target.azureml
    assert target is not None
    assert target.endpoint_name == "budget-optimizer-prod"


def test_a_kubernetes_endpoint_gets_its_compute_and_no_log_analytics() -> None:
    filled, pins = fill("anomaly-detector", spec())
    aml = filled["target"]["azureml"]
    assert (aml["endpointKind"], aml["compute"]) == ("kubernetes", "aks-inference")
    assert "logAnalyticsWorkspaceId" not in aml
    assert "compute" not in pins  # not where the object lives: it follows the platform
    ModelDeploymentSpec.model_validate(filled)


def test_written_values_win_and_are_pinned_too() -> None:
    filled, pins = fill("budget-optimizer", spec(workspace="mlw-team-a", endpointName="bo-team-a"))
    assert filled["target"]["azureml"]["workspace"] == "mlw-team-a"
    assert pins["workspace"] == "mlw-team-a"
    assert pins["endpointName"] == "bo-team-a"


def test_a_changed_handoff_never_moves_an_existing_object() -> None:
    _, pins = fill("budget-optimizer", spec())
    moved = copy.deepcopy(PUBLISHED) | {"workspace": "mlw-kdap-prod-2", "resourceGroup": "rg-other"}
    filled, again = fill("budget-optimizer", spec(), pins, Handoff.parse("ConfigMap x/y", moved))
    assert filled["target"]["azureml"]["workspace"] == "mlw-kdap-prod"
    assert filled["target"]["azureml"]["resourceGroup"] == "rg-kdap-prod"
    assert again == pins
    # A written value later removed from the spec falls back to its pin, not to today's handoff.
    _, written = fill("budget-optimizer", spec(workspace="mlw-team-a"))
    filled, _ = fill("budget-optimizer", spec(), written, Handoff.parse("ConfigMap x/y", moved))
    assert filled["target"]["azureml"]["workspace"] == "mlw-team-a"


def test_a_written_value_that_contradicts_its_pin_is_refused() -> None:
    _, pins = fill("budget-optimizer", spec())
    with pytest.raises(PlatformDefaultsError) as err:
        fill("budget-optimizer", spec(workspace="mlw-elsewhere"), pins)
    assert str(err.value) == (
        'target.azureml.workspace is "mlw-elsewhere" but this ModelDeployment was created with '
        '"mlw-kdap-prod": create a new ModelDeployment to change it'
    )


def test_what_neither_the_spec_nor_the_platform_gives_is_named_with_where_the_operator_looked() -> None:
    with pytest.raises(PlatformDefaultsError) as err:
        fill("churn", spec())  # not declared: workspace is there, the endpoint is not
    assert str(err.value) == (
        "target.azureml.endpointName is not set and the platform does not provide it (ConfigMap "
        "kdap-system/kdap-platform): set it in the spec, or declare the model for ml-serving/churn in the "
        "stack's kdap-platform:endpoints"
    )
    with pytest.raises(
        PlatformDefaultsError, match=r"subscriptionId is not set .*no platform handoff is configured"
    ):
        fill("budget-optimizer", spec(), handoff=None)
    unreadable = Handoff("ConfigMap kdap-system/kdap-platform could not be read (403 Forbidden)")
    with pytest.raises(
        PlatformDefaultsError, match=r"\(ConfigMap kdap-system/kdap-platform could not be read"
    ):
        fill("budget-optimizer", spec(), handoff=unreadable)


def test_malformed_handoff_values_are_dropped_not_trusted() -> None:
    bad = copy.deepcopy(PUBLISHED)
    bad["workspace"] = "../../subscriptions/other"
    bad["resourceGroup"] = 42
    bad["models"]["budget-optimizer"]["endpointName"] = "x" * 80
    bad["logAnalyticsWorkspaceId"] = "https://attacker.example/"
    handoff = Handoff.parse("ConfigMap kdap-system/kdap-platform", bad)
    assert handoff.top == {"subscriptionId": SUB}
    assert handoff.log_analytics is None
    assert "endpointName" not in handoff.models["ml-serving/budget-optimizer"]
    with pytest.raises(PlatformDefaultsError, match="resourceGroup is not set"):
        fill("budget-optimizer", spec(), handoff=handoff)


def test_other_targets_pass_through_untouched() -> None:
    body = {"target": {"type": "kubernetes", "kubernetes": {"image": "r.example/s:1"}}}
    assert fill("budget-optimizer", body) == (body, {})


def test_the_crd_admits_what_the_platform_fills_and_still_requires_the_rest() -> None:
    aml = spec_schema()["properties"]["target"]["properties"]["azureml"]
    assert "required" not in aml  # a declared model's spec may name nothing of Azure at all
    for key in ("subscriptionId", "resourceGroup", "workspace", "endpointName", "instanceType"):
        assert "x-kdap-platform-default" not in aml["properties"][key]
        assert "platform" in aml["properties"][key]["description"]


def test_the_instance_type_follows_the_platform_and_survives_an_unreadable_handoff() -> None:
    _, pins = fill("budget-optimizer", spec())
    bigger = copy.deepcopy(PUBLISHED)
    bigger["models"]["budget-optimizer"]["instanceType"] = "Standard_DS4_v2"
    filled, pins = fill("budget-optimizer", spec(), pins, Handoff.parse("ConfigMap x/y", bigger))
    assert filled["target"]["azureml"]["instanceType"] == "Standard_DS4_v2"  # rolls out as a new revision
    assert filled["target"]["azureml"]["workspace"] == "mlw-kdap-prod"  # where it lives does not move
    unreadable = Handoff("ConfigMap kdap-system/kdap-platform could not be read (503 Service Unavailable)")
    filled, _ = fill("budget-optimizer", spec(), pins, unreadable)
    assert filled["target"]["azureml"]["instanceType"] == "Standard_DS4_v2"  # carries on with the last one
    written, _ = fill("budget-optimizer", spec(instanceType="Standard_F8s_v2"), pins)
    assert written["target"]["azureml"]["instanceType"] == "Standard_F8s_v2"


def test_a_batch_model_is_given_no_instance_type_and_needs_none() -> None:
    """Its runs are sized by batch.compute: an instance type from the platform would be refused by the spec's
    own rule, and cut revisions on a platform change that sizes nothing."""
    from tests.api.batch_cases import batch_azureml

    body = batch_azureml()
    body["target"]["azureml"] = {}  # everything from the platform
    filled, pins = fill("budget-optimizer", body, {"instanceType": "Standard_DS2_v2"})
    assert "instanceType" not in filled["target"]["azureml"]
    assert "instanceType" not in pins
    assert filled["target"]["azureml"]["endpointName"] == "budget-optimizer-prod"
    ModelDeploymentSpec.model_validate(filled)
    # Nothing in the handoff for it: still no complaint about the instance type, only where it lives.
    with pytest.raises(PlatformDefaultsError, match=r"^target\.azureml\.subscriptionId is not set"):
        fill("unknown-model", body, handoff=None)
