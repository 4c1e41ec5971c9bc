"""Across the seam for LLM adapters: the handoff `pulumi up` publishes (dev and prod, under Pulumi mocks)
fills a serverless ModelDeployment that names no Azure resource, and the operator's serverless backend rolls
the adapter through its canary in the route table infra created, on the endpoint infra created — the
serverless one, or on the managed path the managed online endpoint.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from kdap_infra.testing import ProgramRun
from modeldeploy.analysis.workspace_logs import PER_REQUEST, named_query
from modeldeploy.api import ModelDeploymentSpec, platform
from modeldeploy.api.handoff import Handoff, apply_platform_defaults
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.serverless import ServerlessBackend
from modeldeploy.ports import Owner, RevisionRequest
from modeldeploy.rollout.serving import Readiness, TrafficSplit
from tests.backends.azureml.model_fakes import FakeModels
from tests.llm.fakes import FakeNamedValues, FakeServerlessEndpoints
from tests.seam.platform_world import ENDPOINT, example, handoff, seed_workspace

ADAPTERS = ("coding", "creative", "analysis")
SERVERLESS = "azure-native:machinelearningservices:ServerlessEndpoint"
NAMED_VALUE = "azure-native:apimanagement:NamedValue"


def bare_adapter(run: ProgramRun, adapter: str) -> tuple[Owner, dict[str, Any]]:
    """The example adapter's ModelDeployment with `target.serverless: {}`, in the namespace infra declared."""
    manifest = example("serverless-llm-adapter.yaml")
    spec: dict[str, Any] = manifest["spec"]
    spec["target"]["serverless"] = {}
    namespace, name = handoff(run)["serverless"][adapter]["modelDeployment"].split("/")
    return Owner(namespace, name, f"uid-{name}"), spec


def filled(run: ProgramRun, adapter: str) -> tuple[Owner, dict[str, Any], dict[str, str]]:
    owner, spec = bare_adapter(run, adapter)
    published = json.loads(json.dumps(handoff(run)))  # what the ConfigMap carries: JSON, nothing else
    out, pins = apply_platform_defaults(
        owner.namespace, owner.name, spec, {}, Handoff.parse("stack output", published)
    )
    return owner, out, pins


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_adapter_that_names_no_azure_resource_gets_the_target_infra_created(
    stack: ProgramRun, adapter: str
) -> None:
    _, spec, pins = filled(stack, adapter)
    target = dict(spec["target"]["serverless"])
    # Where the gateway logs (the LLM API's token metrics): what logAnalytics analysis metrics query.
    assert target.pop("logAnalyticsWorkspaceId") == stack.outputs["log_analytics_id"]
    # What infra exports for this adapter's ModelDeployment is what the operator filled in.
    assert target == stack.outputs["llm_targets"][adapter]["serverless"] | {"endpointKind": "serverless"}
    assert pins == {
        **{k: v for k, v in target.items() if k != "gateway"},
        **{f"gateway.{k}": v for k, v in target["gateway"].items()},
    }
    (endpoint,) = stack.of_type(SERVERLESS)
    assert target["endpointName"] == endpoint.inputs["name"]
    # The route table the backend writes exists in the API Management instance the gateway names.
    tables = {r.inputs["namedValueId"]: r.inputs for r in stack.of_type(NAMED_VALUE)}
    table = tables[platform.adapter_routes_name(target["endpointName"], adapter)]
    assert table["serviceName"] == target["gateway"]["service"]
    assert table["resourceGroupName"] == target["gateway"]["resourceGroup"]
    ModelDeploymentSpec.model_validate(spec)


def test_the_filled_adapter_rolls_through_its_canary_in_infras_route_table(prod: ProgramRun) -> None:
    owner, body, _ = filled(prod, "coding")
    spec = ModelDeploymentSpec.model_validate(body)
    target = spec.target.serverless
    assert target is not None
    endpoints, gateway = FakeServerlessEndpoints(), FakeNamedValues()
    for resource in prod.of_type(SERVERLESS):  # Azure as infra left it
        endpoints.add(resource.inputs["name"])
    for resource in prod.of_type(NAMED_VALUE):
        gateway.declare(resource.inputs["namedValueId"], resource.inputs["value"])
    registry = FakeModels(registry="kdap-prod-models")
    for version in ("6", "7"):
        registry.register("coding-lora", version)
    backend = ServerlessBackend(endpoints, lambda _: registry, gateway, target, guard=Guard())

    def revision(name: str, version: str) -> RevisionRequest:
        body["model"]["registry"] = (
            f"azureml://registries/kdap-prod-models/models/coding-lora/versions/{version}"
        )
        return RevisionRequest(name, ModelDeploymentSpec.model_validate(body))

    old, new = revision("coding-aaa", "6"), revision("coding-bbb", "7")
    for request in (old, new):
        assert backend.ensure_revision(owner, request).readiness is Readiness.READY
    for weight in (10, 100):
        backend.set_traffic(owner, TrafficSplit({old.name: 100 - weight, new.name: weight}))
    backend.delete_revision(owner, old.name)
    table = platform.adapter_routes_name(target.endpoint_name, "coding")
    assert gateway.routes(table) == ("ml-serving/coding", [("coding-bbb", "coding-lora:7", 100)], None)
    assert backend.observed_traffic(owner) == TrafficSplit({"coding-bbb": 100})


def test_the_token_series_analysis_reads_are_the_ones_the_llm_api_emits(stack: ProgramRun) -> None:
    xml = stack.named("azure-native:apimanagement:ApiPolicy", "llm-api-policy").inputs["value"]
    (emit,) = ET.fromstring(xml).iter("llm-emit-token-metric")
    dimensions = {d.attrib["name"] for d in emit.findall("dimension")}
    assert emit.attrib["namespace"] == platform.LLM_METRIC_NAMESPACE
    for query in (*PER_REQUEST, "requestRate"):
        kql = named_query(query, "coding", "coding-3ccf03901b", 5.0)
        read = {d for d in dimensions if f'Properties["{d}"]' in kql}
        assert read == {"adapter", "revision"}, query
    # The policy emits the three token counts under these names (llm-emit-token-metric's own).
    assert set(PER_REQUEST.values()) == {"Total Tokens", "Prompt Tokens", "Completion Tokens"}


# --- the managed serving path -------------------------------------------------------------------------------


def test_a_managed_adapter_is_filled_with_the_managed_endpoint_and_checked_on_it(
    managed_llm: ProgramRun,
) -> None:
    """serverless.endpointKind: managed publishes each adapter on the managed online endpoint; the operator
    fills `target.serverless` with it (kind managed, pinned) and checks that endpoint as an online one."""
    owner, body, pins = filled(managed_llm, "coding")
    target = dict(body["target"]["serverless"])
    endpoint = managed_llm.outputs["llm_endpoint_name"]
    assert endpoint in {r.inputs["endpointName"] for r in managed_llm.of_type(ENDPOINT)}
    assert (target["endpointKind"], target["endpointName"], target["adapter"]) == (
        "managed",
        endpoint,
        "coding",
    )
    assert pins["endpointKind"] == "managed"
    assert target.pop("logAnalyticsWorkspaceId") == managed_llm.outputs["log_analytics_id"]
    assert target == managed_llm.outputs["llm_targets"]["coding"]["serverless"]
    spec = ModelDeploymentSpec.model_validate(body)
    assert spec.target.serverless is not None
    assert spec.target.serverless.endpoint_kind == "managed"
    # Azure as infra left it: the online endpoint exists (no serverless one does), the route table too.
    assert managed_llm.of_type(SERVERLESS) == []
    gateway = FakeNamedValues()
    for resource in managed_llm.of_type(NAMED_VALUE):
        gateway.declare(resource.inputs["namedValueId"], resource.inputs["value"])
    registry = FakeModels(registry="kdap-dev-models")
    registry.register("coding-lora", "7")
    ws = seed_workspace(managed_llm)
    backend = ServerlessBackend(ws.online_endpoints, lambda _: registry, gateway, spec.target.serverless)
    body["model"]["registry"] = "azureml://registries/kdap-dev-models/models/coding-lora/versions/7"
    request = RevisionRequest("coding-ccc", ModelDeploymentSpec.model_validate(body))
    assert backend.ensure_revision(owner, request).readiness is Readiness.READY
    backend.set_traffic(owner, TrafficSplit({"coding-ccc": 100}))
    table = platform.adapter_routes_name(endpoint, "coding")
    assert gateway.routes(table) == ("ml-serving/coding", [("coding-ccc", "coding-lora:7", 100)], None)
