"""The LLM edge: the policy XML in front of every LLM API (pure), and what the stacks register for it under
mocks (the API, its backends and route tables, gpt-4o-mini behind its content filter, the alerts, the grant).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from kdap_infra.alert_queries import llm_blocked_query, llm_latency_query, llm_token_query
from kdap_infra.llm_policy import CONTENT_SAFETY_BACKEND, LlmPolicy, llm_policy_xml
from kdap_infra.roles import Role
from kdap_infra.serverless_config import LLAMA_31_8B
from kdap_infra.testing import ProgramRun
from modeldeploy.api import platform

ENDPOINT = "kdap-llama-31-8b-d7x2"
POLICY = LlmPolicy(
    tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47",
    audience="api://kdap-dev-scoring",
    endpoint=ENDPOINT,
    endpoint_url="https://kdap-llama-31-8b-d7x2.westeurope.models.ai.azure.com",
    adapters=("coding", "creative"),
    tokens_per_minute=20000,
    monthly_token_quota=50_000_000,
    safety_threshold=4,
    backend_client_id="client-1",
)


def _inbound(xml: str) -> ET.Element:
    inbound = ET.fromstring(xml).find("inbound")
    assert inbound is not None
    return inbound


def test_order_token_first_then_safety_then_routing_then_metrics_then_backend() -> None:
    tags = [child.tag for child in _inbound(llm_policy_xml(POLICY))]
    assert tags[:5] == ["base", "validate-jwt", "set-header", "llm-token-limit", "llm-content-safety"]
    # A request over its budget or blocked by content safety never reaches routing, metrics or the model.
    assert tags.index("llm-emit-token-metric") < tags.index("set-backend-service")
    assert tags[-2:] == ["set-backend-service", "authentication-managed-identity"]


def test_token_limit_is_per_subscription_with_a_rate_and_a_monthly_quota() -> None:
    limit = _inbound(llm_policy_xml(POLICY)).find("llm-token-limit")
    assert limit is not None
    assert limit.attrib["counter-key"] == "@(context.Subscription.Id)"
    assert (limit.attrib["tokens-per-minute"], limit.attrib["token-quota"]) == ("20000", "50000000")
    assert limit.attrib["token-quota-period"] == "Monthly"
    assert limit.attrib["estimate-prompt-tokens"] == "true"


@pytest.mark.parametrize("threshold", [2, 4, 6])
def test_content_safety_shields_prompts_and_blocks_every_category_at_the_threshold(threshold: int) -> None:
    xml = llm_policy_xml(LlmPolicy(**{**POLICY.__dict__, "safety_threshold": threshold}))
    safety = _inbound(xml).find("llm-content-safety")
    assert safety is not None
    assert safety.attrib == {"backend-id": CONTENT_SAFETY_BACKEND, "shield-prompt": "true"}
    categories = safety.find("categories")
    assert categories is not None
    assert categories.attrib["output-type"] == "FourSeverityLevels"
    assert {c.attrib["name"]: c.attrib["threshold"] for c in categories} == {
        name: str(threshold) for name in ("Hate", "SelfHarm", "Sexual", "Violence")
    }


def test_token_metrics_carry_adapter_revision_and_subscription() -> None:
    metric = _inbound(llm_policy_xml(POLICY)).find("llm-emit-token-metric")
    assert metric is not None
    dims = {d.attrib["name"]: d.attrib.get("value") for d in metric.findall("dimension")}
    assert set(dims) == {"API ID", "Subscription ID", "adapter", "revision"}
    assert len(dims) <= 5  # Azure Monitor's limit of custom dimensions per policy
    assert dims["Subscription ID"] is None  # API Management fills its own dimensions
    assert 'context.Variables["kdapAdapter"]' in (dims["adapter"] or "")
    assert 'context.Variables["kdapPick"]' in (dims["revision"] or "")
    assert set(platform.ROUTE_METRIC_DIMENSIONS) >= {"adapter", "revision", "subscription"}


def test_each_declared_adapter_reads_its_own_route_table_and_others_are_refused() -> None:
    inbound = _inbound(llm_policy_xml(POLICY))
    choose = next(c for c in inbound.findall("choose") if c.find("otherwise") is not None)
    tables = [w.find("set-variable").attrib["value"] for w in choose.findall("when")]  # type: ignore[union-attr]
    assert tables == [
        platform.ADAPTER_ROUTES_UNROUTED,  # no adapter_id: the base model
        "{{" + platform.adapter_routes_name(ENDPOINT, "coding") + "}}",
        "{{" + platform.adapter_routes_name(ENDPOINT, "creative") + "}}",
    ]
    refusal = choose.find("otherwise/return-response")
    assert refusal is not None
    assert refusal.find("set-status").attrib["code"] == "400"  # type: ignore[union-attr]
    assert "adapter_id must be one of: coding, creative" in (refusal.findtext("set-body") or "")


def test_routing_rewrites_adapter_id_and_mirrors_with_the_gateway_identity() -> None:
    inbound = _inbound(llm_policy_xml(POLICY))
    picks = {v.attrib["name"]: v.attrib["value"] for v in inbound.findall("set-variable")}
    # The pick reads the table the operator writes: live entries are revision|adapter-id|weight.
    assert "Split(',')" in picks["kdapPick"]
    assert "f.Length == 3" in picks["kdapPick"]
    assert 'f[0] == "mirror"' in picks["kdapMirror"]
    assert "f.Length == 4" in picks["kdapMirror"]
    bodies = [b.text or "" for b in inbound.iter("set-body") if "JObject" in (b.text or "")]
    assert len(bodies) == 2  # the request, and its mirrored copy
    assert all('body["adapter_id"] = ' in b for b in bodies)
    mirror = inbound.find("choose/when/send-one-way-request")
    assert mirror is not None
    assert mirror.findtext("set-url") == POLICY.endpoint_url + "/chat/completions"
    assert mirror.find("authentication-managed-identity").attrib["client-id"] == "client-1"  # type: ignore[union-attr]


def test_the_answer_names_the_revision_that_served_it() -> None:
    outbound = ET.fromstring(llm_policy_xml(POLICY)).find("outbound/set-header")
    assert outbound is not None
    assert outbound.attrib["name"] == platform.ADAPTER_HEADER


def test_route_entries_cannot_break_the_policy_split() -> None:
    # Revision names are DNS labels and adapter ids name:version: neither can hold '|' or ','.
    text = platform.encode_routes("ns/coding", [("coding-3ccf03901b", "coding-lora:4", 100)])
    assert [e.split("|") for e in text.split(",")] == [
        ["owner", "ns/coding"],
        ["coding-3ccf03901b", "coding-lora:4", "100"],
    ]


def test_alert_queries_select_the_api_and_the_adapter() -> None:
    assert 'Url has "/llm/llama-31-8b/"' in llm_latency_query("llm/llama-31-8b")
    assert 'Url has "/llm/llama-31-8b/"' in llm_blocked_query("llm/llama-31-8b")
    assert 'Properties["adapter"]' in llm_token_query()


def test_the_blocked_share_counts_content_safety_refusals_not_spent_quotas() -> None:
    lines = llm_blocked_query("llm/llama-31-8b").splitlines()
    # Both answer 403; only a spent monthly quota's answer says 0 tokens are left.
    assert lines[2] == (
        '| extend QuotaSpent = coalesce(toint(tostring(Properties["Response-x-kdap-remaining-quota-tokens"]))'
        " <= 0, false)"
    )
    assert lines[3] == (
        '| summarize BlockedPercent = 100.0 * countif(ResultCode == "403" and not(QuotaSpent)) / count()'
        " by bin(TimeGenerated, 5m)"
    )
    # The header the query reads is the one the policy's llm-token-limit answers with.
    limit = _inbound(llm_policy_xml(POLICY)).find("llm-token-limit")
    assert limit is not None
    assert f'Properties["Response-{limit.attrib["remaining-quota-tokens-header-name"]}"]' in lines[2]
    assert "429" not in "\n".join(lines)  # a per-minute rate limit answers 429: never a block


# --- the stacks under mocks -------------------------------------------------------------------------------


def _by_name(run: ProgramRun, token: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in run.of_type(token)}


def test_the_seed_base_model_serves_by_default(stack: ProgramRun) -> None:
    assert stack.config.serverless.model_id == LLAMA_31_8B
    (offer,) = stack.of_type("azure-native:machinelearningservices:MarketplaceSubscription")
    assert offer.inputs["properties"] == {"modelId": LLAMA_31_8B}


def test_the_llm_api_routes_every_declared_adapter_through_its_named_value(stack: ProgramRun) -> None:
    endpoint = stack.outputs["serverless_endpoint_name"]
    api = stack.named("azure-native:apimanagement:Api", "llm-api").inputs
    assert api["path"] == "llm/llama-31-8b"
    assert api["subscriptionRequired"] is True
    assert api["serviceUrl"] == f"https://{endpoint}.{stack.config.location}.models.ai.azure.com"
    values = _by_name(stack, "azure-native:apimanagement:NamedValue")
    adapters = [a.name for a in stack.config.serverless.adapters]
    assert adapters == ["coding", "creative", "analysis"]
    for adapter in adapters:
        nv = values[f"nv-adapter-{adapter}"]
        assert nv["namedValueId"] == platform.adapter_routes_name(endpoint, adapter)
        assert nv["value"] == platform.ADAPTER_ROUTES_UNROUTED
        assert nv["secret"] is False  # the operator must read it back
    xml = stack.named("azure-native:apimanagement:ApiPolicy", "llm-api-policy").inputs["value"]
    for adapter in adapters:
        assert "{{" + platform.adapter_routes_name(endpoint, adapter) + "}}" in xml
    backends = _by_name(stack, "azure-native:apimanagement:Backend")
    assert backends["llm-backend"]["backendId"] == f"llm-{endpoint}"
    assert backends["llm-backend"]["circuitBreaker"]["rules"]
    assert backends["llm-content-safety"]["url"].endswith(".cognitiveservices.azure.com")


def test_content_safety_is_an_entra_only_account_the_gateway_may_use(stack: ProgramRun) -> None:
    accounts = {r.inputs["accountName"]: r for r in stack.of_type("azure-native:cognitiveservices:Account")}
    url = stack.named("azure-native:apimanagement:Backend", "llm-content-safety").inputs["url"]
    name = url.removeprefix("https://").split(".")[0]
    account = accounts[name]
    assert account.inputs["kind"] == "ContentSafety"
    assert account.inputs["properties"]["disableLocalAuth"] is True
    # built as every AI services account: a stack that closes public access also closes outbound traffic
    props = account.inputs["properties"]
    assert props["restrictOutboundNetworkAccess"] is (props["publicNetworkAccess"] == "Disabled")
    gateway = stack.outputs["identity_client_ids"]["gateway"]
    assert gateway
    grants = [
        r.inputs
        for r in stack.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["scope"].endswith(f"/accounts/{name}")
        and r.inputs["roleDefinitionId"].endswith(Role.COGNITIVE_SERVICES_USER.value)
    ]
    assert grants


def test_prod_deploys_gpt_4o_mini_behind_a_blocking_filter_at_the_seed_severity(prod: ProgramRun) -> None:
    (deployment,) = prod.of_type("azure-native:cognitiveservices:Deployment")
    (policy,) = prod.of_type("azure-native:cognitiveservices:RaiPolicy")
    model = deployment.inputs["properties"]["model"]
    assert (model["name"], model["version"], model["format"]) == ("gpt-4o-mini", "2024-07-18", "OpenAI")
    assert deployment.inputs["properties"]["raiPolicyName"] == policy.inputs["raiPolicyName"]
    props = policy.inputs["properties"]
    assert props["mode"] == "Blocking"
    harms = {(f["name"], f["source"]): f for f in props["contentFilters"] if f["name"] != "Jailbreak"}
    assert set(harms) == {
        (c, s) for c in ("Hate", "Sexual", "Violence", "Selfharm") for s in ("Prompt", "Completion")
    }
    assert all(f["severityThreshold"] == "Medium" and f["blocking"] and f["enabled"] for f in harms.values())
    (shield,) = [f for f in props["contentFilters"] if f["name"] == "Jailbreak"]
    assert (shield["source"], shield["blocking"]) == ("Prompt", True)


def test_llm_alerts_on_tokens_latency_and_blocked_requests(stack: ProgramRun) -> None:
    rules = _by_name(stack, "azure-native:monitor:ScheduledQueryRule")
    tokens, latency, blocked = (rules[f"alert-llm-llama-31-8b-{k}"] for k in ("tokens", "latency", "blocked"))
    budget = tokens["criteria"]["allOf"][0]
    assert budget["threshold"] == stack.config.serverless.token_budget_per_day
    assert budget["dimensions"][0]["name"] == "adapter"
    assert tokens["windowSize"] == "P1D"
    assert latency["criteria"]["allOf"][0]["threshold"] == stack.config.serverless.latency_p95_ms
    assert "llm/llama-31-8b" in latency["criteria"]["allOf"][0]["query"]
    assert blocked["criteria"]["allOf"][0]["threshold"] == stack.config.serverless.blocked_percent
    for rule in (tokens, latency, blocked):
        assert rule["actions"]["actionGroups"]
        assert rule["scopes"] == [stack.outputs["log_analytics_id"]]


def test_the_llm_api_logs_the_quota_header_the_blocked_alert_reads(stack: ProgramRun) -> None:
    (diagnostic,) = stack.of_type("azure-native:apimanagement:ApiDiagnostic")
    inputs = diagnostic.inputs
    assert inputs["apiId"] == stack.named("azure-native:apimanagement:Api", "llm-api").inputs["apiId"]
    assert inputs["frontend"]["response"]["headers"] == ["x-kdap-remaining-quota-tokens"]
    # It replaces the service-wide diagnostic for this API: the same logger, every request, every error.
    (service_wide,) = stack.of_type("azure-native:apimanagement:Diagnostic")
    for key in ("loggerId", "alwaysLog", "verbosity", "sampling", "httpCorrelationProtocol", "logClientIp"):
        assert inputs[key] == service_wide.inputs[key], key


def test_each_adapter_gets_a_serverless_target_the_operator_accepts(stack: ProgramRun) -> None:
    from modeldeploy.api.serverless import ServerlessTarget

    targets = stack.outputs["llm_targets"]
    assert set(targets) == {"coding", "creative", "analysis"}
    tables = {r.inputs["namedValueId"] for r in stack.of_type("azure-native:apimanagement:NamedValue")}
    service = stack.of_type("azure-native:apimanagement:ApiManagementService")[0].inputs["serviceName"]
    for adapter, handoff in targets.items():
        target = ServerlessTarget.model_validate(handoff["serverless"])
        assert handoff["modelDeployment"] == f"ml-serving/{adapter}"
        assert target.gateway.service == service
        # The table the operator will write is the one infra created and the policy reads.
        assert platform.adapter_routes_name(target.endpoint_name, adapter) in tables


def test_the_example_adapter_names_what_prod_creates(prod: ProgramRun) -> None:
    from pathlib import Path

    import yaml

    example = Path(__file__).resolve().parents[2] / "examples" / "serverless-llm-adapter.yaml"
    (doc,) = [d for d in yaml.safe_load_all(example.read_text()) if d]
    written = doc["spec"]["target"]["serverless"]
    created = prod.outputs["llm_targets"][written["adapter"]]["serverless"]
    # The examples carry a placeholder subscription; everything else is prod's own names.
    assert {k: v for k, v in written.items() if k != "subscriptionId"} == {
        k: v for k, v in created.items() if k != "subscriptionId"
    }


def test_on_a_multi_lora_server_the_model_field_names_the_routed_adapter() -> None:
    """The managed path's vLLM picks a LoRA by `model`: set after the adapter rewrite, before the mirrored
    copy and the metrics, so both the answer and the copy reach the version the split picked."""
    managed = LlmPolicy(**{**POLICY.__dict__, "served_model": "llama-31-8b", "timeout_seconds": 90})
    inbound = _inbound(llm_policy_xml(managed))
    tags = [child.tag for child in inbound]
    model_step = next(
        i for i, c in enumerate(inbound) if c.tag == "set-body" and 'body["model"]' in (c.text or "")
    )
    routing = max(
        i for i, c in enumerate(inbound) if c.tag == "choose" and c.find("when/set-body") is not None
    )
    assert routing < model_step < tags.index("llm-emit-token-metric")
    assert '"llama-31-8b" : adapter' in (inbound[model_step].text or "")
    mirror = inbound.find("choose/when/send-one-way-request/set-body")
    assert mirror is not None
    assert 'body["model"] = body["adapter_id"]' in (mirror.text or "")
    forward = ET.fromstring(llm_policy_xml(managed)).find("backend/forward-request")
    assert forward is not None
    assert forward.attrib["timeout"] == "90"
    assert 'body["model"]' not in llm_policy_xml(POLICY)  # a serverless endpoint reads adapter_id itself
