"""The LLM's managed serving path under mocks (`serverless.endpointKind: managed`): a GPU managed online
endpoint running the multi-LoRA server behind the same LLM API, its grants, its handoff, and its config."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from kdap_infra.config import parse_config
from kdap_infra.llm_managed import COST_NAMESPACE, MODEL_MOUNT, environment_version
from kdap_infra.rbac import SCORE_ACTION
from kdap_infra.roles import Role
from kdap_infra.testing import ProgramRun, fake_guid
from modeldeploy.api import platform
from tests.infra.configs import MANAGED_IMAGE, managed_llm
from tests.infra.test_config import error_of

ML = "azure-native:machinelearningservices"
ENDPOINT = "kdap-llama-31-8b-t3st"


def _one(run: ProgramRun, token: str, name: str) -> dict[str, Any]:
    return run.named(token, name).inputs


def _assignments(run: ProgramRun) -> list[dict[str, Any]]:
    return [r.inputs for r in run.of_type("azure-native:authorization:RoleAssignment")]


def test_the_endpoint_takes_entra_tokens_only_and_has_its_own_identity(managed_llm: ProgramRun) -> None:
    endpoint = _one(managed_llm, f"{ML}:OnlineEndpoint", "llm-endpoint")
    assert endpoint["endpointName"] == ENDPOINT == managed_llm.outputs["llm_endpoint_name"]
    assert endpoint["kind"] == "Managed"
    assert endpoint["properties"]["authMode"] == "AADToken"
    assert endpoint["identity"] == {"type": "SystemAssigned"}
    tags = endpoint["tags"]
    # The naming place's tags, with the endpoint's cost allocated to llm/<name> (its budget filters on it).
    assert (tags["env"], tags["owner"], tags["managed-by"]) == ("dev", "ml-platform", "pulumi")
    assert (tags["model"], tags["modeldeployment"]) == ("llama-31-8b", f"{COST_NAMESPACE}/llama-31-8b")


def test_no_serverless_endpoint_or_marketplace_offer_on_the_managed_path(managed_llm: ProgramRun) -> None:
    assert managed_llm.of_type(f"{ML}:ServerlessEndpoint") == []
    assert managed_llm.of_type(f"{ML}:MarketplaceSubscription") == []
    assert "serverless_endpoint_id" not in managed_llm.outputs
    roles = {r.name for r in managed_llm.of_type("azure-native:authorization:RoleDefinition")}
    assert "role-serverless-caller" not in roles


def test_one_deployment_serves_the_base_model_with_lora_from_the_registry(managed_llm: ProgramRun) -> None:
    deployment = _one(managed_llm, f"{ML}:OnlineDeployment", "llm-deployment")
    assert (deployment["endpointName"], deployment["deploymentName"]) == (ENDPOINT, "base")
    assert deployment["sku"] == {"name": "Default", "capacity": 1}
    props = deployment["properties"]
    assert props["endpointComputeType"] == "Managed"
    assert props["instanceType"] == "Standard_NC24ads_A100_v4"
    assert props["model"] == "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct/versions/4"
    assert props["modelMountPath"] == MODEL_MOUNT
    env = props["environmentVariables"]
    assert env["KDAP_ENABLE_LORA"] == "true"
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert env["KDAP_ADAPTER_REGISTRY"] == managed_llm.outputs["registry_name"] == "kdap-dev-models"
    assert (env["KDAP_MAX_LORAS"], env["KDAP_MAX_LORA_RANK"]) == ("8", "16")
    assert env["KDAP_BASE_MODEL_DIR"] == MODEL_MOUNT
    assert props["requestSettings"]["requestTimeout"] == "PT90S"
    for probe in ("livenessProbe", "readinessProbe"):
        assert props[probe]["initialDelay"] in ("PT10M", "PT2M"), probe
        assert props[probe]["failureThreshold"] >= 30, probe
    # The image is a custom environment whose routes are the server's own health and OpenAI routes.
    environment = _one(managed_llm, f"{ML}:EnvironmentVersion", "llm-environment")
    assert props["environmentId"].endswith(
        f"/environments/llama-31-8b-server/versions/{environment['version']}"
    )
    assert environment["version"] == environment_version(MANAGED_IMAGE)
    assert environment["properties"]["image"] == MANAGED_IMAGE
    routes = environment["properties"]["inferenceConfig"]
    assert routes["readinessRoute"] == routes["livenessRoute"] == {"path": "/health", "port": 8000}
    assert routes["scoringRoute"] == {"path": "/", "port": 8000}


def test_a_new_image_is_a_new_environment_version() -> None:
    assert environment_version(MANAGED_IMAGE) != environment_version(MANAGED_IMAGE.replace("0.6.3", "0.6.4"))


def test_all_traffic_goes_to_the_deployment_once_it_exists(managed_llm: ProgramRun) -> None:
    traffic = managed_llm.named(f"{ML}:OnlineEndpoint", "llm-traffic")
    deployment = managed_llm.named(f"{ML}:OnlineDeployment", "llm-deployment")
    assert traffic.inputs["endpointName"] == ENDPOINT
    assert traffic.inputs["properties"]["traffic"] == {"base": 100}
    assert deployment.urn in traffic.dependencies
    # The same endpoint as llm-endpoint declares: an update, never a second endpoint with other settings.
    first = _one(managed_llm, f"{ML}:OnlineEndpoint", "llm-endpoint")
    assert {k: v for k, v in traffic.inputs["properties"].items() if k != "traffic"} == first["properties"]
    assert (traffic.inputs["identity"], traffic.inputs["tags"]) == (first["identity"], first["tags"])


def test_the_deployment_waits_for_its_endpoints_grants(managed_llm: ProgramRun) -> None:
    """It pulls the image and mounts the model as the endpoint's identity: without the grants, it fails."""
    deployment = managed_llm.named(f"{ML}:OnlineDeployment", "llm-deployment")
    batch = managed_llm.named("kdap:identity:AccessGrants", "llm-endpoint-access")
    own = [
        r for r in managed_llm.of_type("azure-native:authorization:RoleAssignment") if r.parent == batch.urn
    ]
    assert len(own) == 2
    assert {r.urn for r in own} <= deployment.dependencies  # the batch expands to its assignments


def test_grants_are_the_narrowest_that_serve(managed_llm: ProgramRun) -> None:
    out = managed_llm.outputs
    endpoint_id = out["llm_endpoint_id"]
    assert endpoint_id.endswith(f"/onlineEndpoints/{ENDPOINT}")
    principal = f"principal/{endpoint_id}"  # the mocks' system-assigned principal of that resource
    mine = {
        (a["roleDefinitionId"].rsplit("/", 1)[1], a["scope"])
        for a in _assignments(managed_llm)
        if a["principalId"] == fake_guid(principal)
    }
    # Adapters from the model registry, the image from the container registry: nothing in the workspace.
    assert mine == {
        (Role.AZUREML_REGISTRY_USER.value, out["ml_registry_id"]),
        (Role.ACR_PULL.value, out["container_registry_id"]),
    }
    scorer = managed_llm.named("azure-native:authorization:RoleDefinition", "role-endpoint-scorer").inputs
    assert scorer["permissions"] == [
        {"actions": ["Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read", SCORE_ACTION]}
    ]
    on_endpoint = [a for a in _assignments(managed_llm) if a["scope"] == endpoint_id]
    gateway = fake_guid(f"principal/{_identity(managed_llm, 'gateway')}")
    assert [(a["principalId"], a["roleDefinitionId"].rsplit("/", 1)[1]) for a in on_endpoint] == [
        (gateway, scorer["roleDefinitionId"])
    ]
    assert all(a["principalType"] == "ServicePrincipal" for a in _assignments(managed_llm))


def _identity(run: ProgramRun, workload: str) -> str:
    name: str = run.named("azure-native:managedidentity:UserAssignedIdentity", f"id-{workload}").inputs[
        "resourceName"
    ]
    return name


def test_the_llm_api_calls_the_openai_routes_of_the_managed_endpoint(managed_llm: ProgramRun) -> None:
    url = f"https://{ENDPOINT}.westeurope.inference.ml.azure.com/v1"
    backend = _one(managed_llm, "azure-native:apimanagement:Backend", "llm-backend")
    assert (backend["url"], backend["backendId"]) == (url, f"llm-{ENDPOINT}")
    assert "managed online endpoint" in backend["title"]
    assert backend["circuitBreaker"]["rules"]
    api = _one(managed_llm, "azure-native:apimanagement:Api", "llm-api")
    assert (api["serviceUrl"], api["path"]) == (url, "llm/llama-31-8b")
    operation = _one(managed_llm, "azure-native:apimanagement:ApiOperation", "llm-api-chat")
    assert operation["urlTemplate"] == "/chat/completions"  # /v1/chat/completions on the server


def test_the_policy_guards_and_routes_as_on_the_serverless_path(managed_llm: ProgramRun) -> None:
    xml = _one(managed_llm, "azure-native:apimanagement:ApiPolicy", "llm-api-policy")["value"]
    root = ET.fromstring(xml)
    inbound = root.find("inbound")
    assert inbound is not None
    assert inbound.find("validate-jwt") is not None
    limit = inbound.find("llm-token-limit")
    assert limit is not None
    assert limit.attrib["tokens-per-minute"] == "20000"
    safety = inbound.find("llm-content-safety")
    assert safety is not None
    assert safety.attrib["shield-prompt"] == "true"
    metric = inbound.find("llm-emit-token-metric")
    assert metric is not None
    assert {d.attrib["name"] for d in metric.findall("dimension")} >= {"adapter", "revision"}
    for adapter in ("coding", "creative"):
        assert "{{" + platform.adapter_routes_name(ENDPOINT, adapter) + "}}" in xml
    # vLLM picks the adapter by the body's model: the routed adapter id, else the base model's name.
    bodies = [b.text or "" for b in inbound.findall("set-body")]
    assert any('body["model"] = adapter == "" ? "llama-31-8b" : adapter' in b for b in bodies)
    mirror = inbound.find("choose/when/send-one-way-request")
    assert mirror is not None
    assert (
        mirror.findtext("set-url")
        == f"https://{ENDPOINT}.westeurope.inference.ml.azure.com/v1/chat/completions"
    )
    assert 'body["model"] = body["adapter_id"]' in (mirror.findtext("set-body") or "")
    forward = root.find("backend/forward-request")
    assert forward is not None
    assert forward.attrib["timeout"] == "90"
    identity = inbound.find("authentication-managed-identity")
    assert identity is not None
    assert identity.attrib["resource"] == "https://ml.azure.com"


def test_the_serverless_policy_leaves_the_model_field_alone(dev: ProgramRun) -> None:
    xml = _one(dev, "azure-native:apimanagement:ApiPolicy", "llm-api-policy")["value"]
    assert 'body["model"]' not in xml
    assert ET.fromstring(xml).find("backend/forward-request").attrib["timeout"] == "120"  # type: ignore[union-attr]


def test_adapters_are_handed_off_on_the_managed_endpoint(managed_llm: ProgramRun) -> None:
    entries = managed_llm.outputs["operator_handoff"]["serverless"]
    assert set(entries) == {"coding", "creative"}
    for adapter, entry in entries.items():
        assert (entry["endpointKind"], entry["endpointName"], entry["adapter"]) == (
            "managed",
            ENDPOINT,
            adapter,
        )
    assert entries["creative"]["modelDeployment"] == "ml-creative/creative"
    target = managed_llm.outputs["llm_targets"]["coding"]["serverless"]
    assert (target["endpointKind"], target["endpointName"]) == ("managed", ENDPOINT)


def test_the_endpoint_is_watched_like_every_online_endpoint(managed_llm: ProgramRun) -> None:
    rules = {r.name: r.inputs for r in managed_llm.of_type("azure-native:monitor:ScheduledQueryRule")}
    # The LLM API's own alerts read the gateway's logs, the same on either path.
    assert {f"alert-llm-llama-31-8b-{k}" for k in ("tokens", "latency", "blocked")} <= set(rules)
    metric = {r.name: r.inputs for r in managed_llm.of_type("azure-native:monitor:MetricAlert")}
    latency, errors = metric["alert-llama-31-8b-latency-p99"], metric["alert-llama-31-8b-server-errors"]
    endpoint_id = managed_llm.outputs["llm_endpoint_id"]
    assert latency["scopes"] == errors["scopes"] == [endpoint_id]
    assert latency["criteria"]["allOf"][0]["threshold"] == managed_llm.config.serverless.latency_p95_ms
    budget = managed_llm.named("azure-native:consumption:Budget", "budget-llama-31-8b").inputs
    assert budget["filter"]["tags"]["values"] == [f"{COST_NAMESPACE}/llama-31-8b"]
    diagnostics = [
        r
        for r in managed_llm.of_type("azure-native:monitor:DiagnosticSetting")
        if r.name == "llm-endpoint-diag"
    ]
    assert [d.inputs["resourceUri"] for d in diagnostics] == [endpoint_id]


# --- config -----------------------------------------------------------------------------------------------


def test_serverless_stays_the_default() -> None:
    from tests.infra.configs import minimal

    config = parse_config(minimal(serverless={"enabled": True}))
    assert config.serverless.endpoint_kind == "serverless"
    assert config.serverless.managed.instance_type == "Standard_NC24ads_A100_v4"


@pytest.mark.parametrize(
    ("managed", "expected"),
    [
        (
            {"image": None},
            "kdap-platform:serverless.managed.image is required when "
            "kdap-platform:serverless.endpointKind is managed",
        ),
        ({"modelVersion": None}, "kdap-platform:serverless.managed.modelVersion is required"),
        # Docker Hub, and an image without tag or digest, are refused: the endpoint pulls from the ACR.
        ({"image": "vllm/vllm-openai:latest"}, "kdap-platform:serverless.managed.image: is invalid"),
        (
            {"image": "kdapdevacrt3st.azurecr.io/vllm-lora"},
            "kdap-platform:serverless.managed.image: is invalid",
        ),
        ({"instanceType": "Standard_D4s_v3"}, "kdap-platform:serverless.managed.instanceType: is invalid"),
        ({"instanceType": "Standard_NC6s_v3"}, "a GPU VM SKU of the NC or ND A100/H100 families"),
        (
            {"requestTimeoutSeconds": 600},
            "kdap-platform:serverless.managed.requestTimeoutSeconds: is invalid",
        ),
        ({"instanceCount": 0}, "kdap-platform:serverless.managed.instanceCount: is invalid"),
        ({"maxLoras": 0}, "kdap-platform:serverless.managed.maxLoras: is invalid"),
        ({"maxLoraRank": 12}, "kdap-platform:serverless.managed.maxLoraRank: is invalid"),
    ],
)
def test_bad_managed_config_names_the_field(managed: dict[str, Any], expected: str) -> None:
    raw = managed_llm(**managed)
    section = raw["serverless"]["managed"]
    raw["serverless"]["managed"] = {k: v for k, v in section.items() if v is not None}
    assert expected in error_of(raw)


def test_an_unknown_endpoint_kind_is_refused() -> None:
    raw = managed_llm()
    raw["serverless"]["endpointKind"] = "kubernetes"
    text = error_of(raw)
    assert "kdap-platform:serverless.endpointKind: is invalid" in text
    assert "serverless (pay per token, the default) or managed" in text


def test_h100_and_nd_skus_are_accepted() -> None:
    for sku in ("Standard_NC40ads_H100_v5", "Standard_ND96isr_H100_v5", "Standard_ND96amsr_A100_v4"):
        assert parse_config(managed_llm(instanceType=sku)).serverless.managed.instance_type == sku


def test_resources_are_only_those_of_the_managed_path(managed_llm: ProgramRun) -> None:
    component = [r for r in managed_llm.resources if r.type == "kdap:ml:ManagedLlm"]
    assert len(component) == 1
    children = sorted(r.type for r in managed_llm.resources if r.parent == component[0].urn)
    assert children == sorted(
        [
            f"{ML}:EnvironmentVersion",
            f"{ML}:OnlineEndpoint",
            f"{ML}:OnlineEndpoint",
            f"{ML}:OnlineDeployment",
            "azure-native:monitor:DiagnosticSetting",
            "azure-native:cognitiveservices:Account",  # the LLM API's Content Safety (no AI services here)
        ]
    )


def test_the_managed_endpoint_cannot_take_a_served_models_name() -> None:
    raw = managed_llm()
    raw["endpoints"] = [{"name": "llama-31-8b"}]
    assert (
        "kdap-platform:serverless.name 'llama-31-8b' is also a kdap-platform:endpoints name: on the managed "
        "path both would be the online endpoint of that name. Fix: rename one of them"
    ) in error_of(raw)
    raw["serverless"]["endpointKind"] = "serverless"  # a serverless endpoint is another resource type
    assert parse_config(raw).serverless.name == "llama-31-8b"
