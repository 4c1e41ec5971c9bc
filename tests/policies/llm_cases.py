"""Violation cases for LLM endpoints (#20), one per way to break a rule (run by test_violations)."""

from __future__ import annotations

from tests.policies.cases import DATA_SCIENTIST, LLM_POLICY, WS, Case, remove, set_prop

LLM_CASES = [
    Case(
        "llm-api-without-content-safety",
        "llm-api-safety-and-token-limits",
        set_prop("llm-policy", "value", LLM_POLICY.replace("llm-content-safety", "llm-ignored")),
        ("Api 'llm-api': policy has no <llm-content-safety>: prompts reach the model unscreened",),
    ),
    Case(
        "llm-api-without-prompt-shields",
        "llm-api-safety-and-token-limits",
        set_prop("llm-policy", "value", LLM_POLICY.replace('shield-prompt="true"', 'shield-prompt="false"')),
        ('without shield-prompt="true"', "Prompt Shields"),
    ),
    Case(
        "llm-api-without-token-limit",
        "llm-api-safety-and-token-limits",
        set_prop("llm-policy", "value", LLM_POLICY.replace("llm-token-limit", "rate-limit")),
        ("has no <llm-token-limit>", "one caller can spend every token"),
    ),
    Case(
        "llm-token-limit-without-a-limit",
        "llm-api-safety-and-token-limits",
        set_prop(
            "llm-policy",
            "value",
            LLM_POLICY.replace(' tokens-per-minute="20000" ', " ").replace('token-quota="1000000" ', ""),
        ),
        ("has no <llm-token-limit> with tokens-per-minute or token-quota",),
    ),
    Case(
        "serverless-without-a-caller",
        "serverless-endpoint-callers",
        remove("gateway-calls-llama"),
        (
            "ServerlessEndpoint 'llama': properties.authMode is 'AAD' but no role is assigned on the "
            "endpoint",
            "Entra tokens are refused",
        ),
    ),
    Case(
        "serverless-caller-only-on-the-workspace",
        "serverless-endpoint-callers",
        set_prop("gateway-calls-llama", "scope", WS),
        ("no role is assigned on the endpoint", "scoped to the endpoint's id"),
    ),
    Case(
        "serverless-caller-with-data-scientist",
        "serverless-endpoint-callers",
        set_prop("gateway-calls-llama", "roleDefinitionId", DATA_SCIENTIST),
        (
            "RoleAssignment 'gateway-calls-llama': roleDefinitionId grants AzureML Data Scientist on "
            "serverless endpoint 'llama'",
            "serverlessEndpoints/read",
        ),
    ),
    Case(
        # The LLM API in front of a managed online endpoint (the managed serving path) that takes keys.
        "managed-llm-endpoint-with-keys",
        "managed-llm-endpoint-entra-only",
        lambda s: set_prop("llm-api", "serviceUrl", "https://fraud.westeurope.inference.ml.azure.com/v1")(
            set_prop("fraud", "properties.authMode", "Key")(s)
        ),
        (
            "OnlineEndpoint 'fraud': properties.authMode is 'Key' on online endpoint 'fraud' behind an LLM "
            "API: its keys or Azure ML tokens would call the model around the gateway's Entra ID, token "
            "limits and content safety. Fix: set properties.auth_mode='AADToken' (kdap_infra.llm_managed)",
        ),
    ),
    Case(
        "managed-llm-endpoint-with-azureml-tokens",
        "managed-llm-endpoint-entra-only",
        lambda s: set_prop("llm-api", "serviceUrl", "https://fraud.westeurope.inference.ml.azure.com/v1")(
            set_prop("fraud", "properties.authMode", "AMLToken")(s)
        ),
        ("properties.authMode is 'AMLToken' on online endpoint 'fraud' behind an LLM API",),
    ),
    Case(
        "openai-with-keys",
        "openai-no-local-auth",
        set_prop("openai", "properties.disableLocalAuth", False),
        ("Account 'openai': properties.disableLocalAuth is False on a OpenAI account", "71ef260a"),
    ),
    Case(
        "ai-services-keys-by-default",
        "openai-no-local-auth",
        lambda s: set_prop("openai", "kind", "AIServices")(
            set_prop("openai", "properties.disableLocalAuth")(s)
        ),
        ("is None on a AIServices account",),
    ),
]
