"""Rules for LLM endpoints (#20): every LLM API screens prompts with content safety (Prompt Shields on)
and limits tokens; a serverless endpoint taking Entra tokens has its caller's role on it and no role that
could change it; a managed online endpoint behind an LLM API takes Entra tokens only; no Azure OpenAI (or AI
Services) account accepts keys."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from kdap_policies.builtins import AI_LOCAL_AUTH
from kdap_policies.config import PolicyConfig
from kdap_policies.graph import Stack
from kdap_policies.resource import Resource, is_true
from kdap_policies.rules import AnyResourceRule, AnyStackRule, Finding, ResourceRule, StackFinding, StackRule

API = "azure-native:apimanagement:Api"
SERVERLESS = "azure-native:machinelearningservices:ServerlessEndpoint"
ONLINE = "azure-native:machinelearningservices:OnlineEndpoint"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
API_POLICY = "azure-native:apimanagement:ApiPolicy"
ACCOUNT = frozenset({"azure-native:cognitiveservices:Account"})


class LlmConfig(PolicyConfig):
    api_path_prefix: str = Field(
        default="llm/", description="APIs whose path starts with this are LLM APIs (kdap_infra.llm_gateway)."
    )


def _inbound(policy_xml: Any) -> ET.Element | None:
    if not isinstance(policy_xml, str):
        return None
    try:
        return ET.fromstring(policy_xml).find("inbound")
    except ET.ParseError:
        return None


def _llm_guards(stack: Stack, config: LlmConfig) -> Iterator[StackFinding]:
    policies = stack.of_type(API_POLICY)
    for api in stack.of_type(API):
        if not str(api.get("path") or "").startswith(config.api_path_prefix):
            continue
        inbound = [
            i for p in policies if p.get("apiId") == api.get("apiId") if (i := _inbound(p.get("value")))
        ]
        safety = [e for i in inbound for e in i.iter("llm-content-safety")]
        if not safety:
            yield StackFinding(
                "policy",
                "has no <llm-content-safety>: prompts reach the model unscreened",
                'put <llm-content-safety backend-id=... shield-prompt="true"> in the API\'s inbound policy '
                "(kdap_infra.llm_policy)",
                subject=api,
            )
        elif not any(is_true(e.get("shield-prompt")) for e in safety):
            yield StackFinding(
                "policy",
                'runs <llm-content-safety> without shield-prompt="true": prompt injection is not checked',
                'set shield-prompt="true" (Prompt Shields)',
                subject=api,
            )
        limits = [e for i in inbound for e in i.iter("llm-token-limit")]
        if not any(e.get("tokens-per-minute") or e.get("token-quota") for e in limits):
            yield StackFinding(
                "policy",
                "has no <llm-token-limit> with tokens-per-minute or token-quota: one caller can spend every "
                "token",
                'put <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute=... '
                "token-quota=... token-quota-period=...> in the API's inbound policy",
                subject=api,
            )


class ServerlessCallersConfig(PolicyConfig):
    writer_roles: dict[str, str] = Field(
        default={
            "f6c7c914-8db3-469d-8ca1-694a8f32e121": "AzureML Data Scientist",
            "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
        },
        description="Built-in roles (GUID: name) that could redeploy or delete a serverless endpoint; "
        "a caller on one needs none of them.",
    )


def _serverless_callers(stack: Stack, config: ServerlessCallersConfig) -> Iterator[StackFinding]:
    assignments = stack.of_type(ROLE_ASSIGNMENT)
    for endpoint in stack.of_type(SERVERLESS):
        on_it = [ra for ra in assignments if stack.refers_to(ra, "scope", endpoint)]
        for ra in on_it:
            guid = str(ra.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
            if guid in config.writer_roles:
                yield StackFinding(
                    "roleDefinitionId",
                    f"grants {config.writer_roles[guid]} on serverless endpoint {endpoint.resource.name!r}: "
                    "its holder could redeploy or delete the model, not only call it",
                    "grant a role of serverlessEndpoints/read on the endpoint (kdap_infra.rbac."
                    "serverless_caller_role)",
                    subject=ra,
                )
        if "AAD" in str(endpoint.get("properties.authMode") or "") and not on_it:
            yield StackFinding(
                "properties.authMode",
                f"is {endpoint.get('properties.authMode')!r} but no role is assigned on the endpoint: "
                "the LLM gateway's Entra tokens are refused (or it holds a role on the whole workspace)",
                "assign the gateway identity a caller role scoped to the endpoint's id",
                subject=endpoint,
            )


def _host_label(url: Any) -> str:
    """The first DNS label of a URL: an online endpoint's scoring host starts with the endpoint's name."""
    host = urlsplit(url).hostname if isinstance(url, str) else None
    return (host or "").split(".", 1)[0]


def _managed_llm_auth(stack: Stack, config: LlmConfig) -> Iterator[StackFinding]:
    # An LLM API in front of an online endpoint names it in its service URL (the managed serving path,
    # kdap_infra.llm_managed); found that way, the rule cannot be dodged by leaving a tag out.
    served = {
        _host_label(api.get("serviceUrl"))
        for api in stack.of_type(API)
        if str(api.get("path") or "").startswith(config.api_path_prefix)
    }
    for endpoint in stack.of_type(ONLINE):
        name = str(endpoint.get("endpointName") or "").lower()
        mode = endpoint.get("properties.authMode")
        if name and name in served and mode is not None and str(mode) != "AADToken":
            yield StackFinding(
                "properties.authMode",
                f"is {mode!r} on online endpoint {name!r} behind an LLM API: its keys or Azure ML tokens "
                "would call the model around the gateway's Entra ID, token limits and content safety",
                "set properties.auth_mode='AADToken' (kdap_infra.llm_managed)",
                subject=endpoint,
            )


_KEYLESS_KINDS = ("OpenAI", "AIServices")


def _openai_local_auth(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    if str(resource.get("kind") or "") not in _KEYLESS_KINDS:
        return
    if not is_true(resource.get("properties.disableLocalAuth")):
        value, kind = resource.get("properties.disableLocalAuth"), resource.get("kind")
        yield Finding(
            "properties.disableLocalAuth",
            f"is {value!r} on a {kind} account: its keys would call models without Entra ID",
            "set properties.disable_local_auth=True (and a custom subdomain for Entra ID tokens)",
        )


STACK_RULES: tuple[AnyStackRule, ...] = (
    StackRule(
        "llm-api-safety-and-token-limits",
        "Every LLM API screens prompts with content safety (Prompt Shields on) and limits tokens.",
        _llm_guards,
        LlmConfig,
    ),
    StackRule(
        "serverless-endpoint-callers",
        "A serverless endpoint taking Entra tokens has a role assigned on it, and none that could change it.",
        _serverless_callers,
        ServerlessCallersConfig,
    ),
    StackRule(
        "managed-llm-endpoint-entra-only",
        "A managed online endpoint behind an LLM API accepts Entra ID tokens only (authMode AADToken).",
        _managed_llm_auth,
        LlmConfig,
    ),
)
RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "openai-no-local-auth",
        "Azure OpenAI and AI Services accounts accept Entra ID tokens only (local auth off).",
        ACCOUNT,
        _openai_local_auth,
        PolicyConfig,
        AI_LOCAL_AUTH,
    ),
)
