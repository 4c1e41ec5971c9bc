"""The `serverless` section of the stack config, read by `serverless.ServerlessModel`,
`llm_managed.ManagedLlm` and `llm_gateway`.

Two serving paths put the same base model and adapters behind the same LLM API. `serverless` (the default)
is a pay-per-token catalog endpoint: nothing is paid idle, no GPU quota is needed and there is no image to
patch or instance to scale. `managed` runs the platform's OpenAI-compatible multi-LoRA server image (vLLM)
on a GPU managed online endpoint: for your own adapters at a volume where a busy GPU beats per-token
prices, for base models the catalog does not offer serverless, or where traffic must stay on private
endpoints.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kdap_infra.config_sections import NAMESPACE, Section
from kdap_infra.llm_managed_config import ManagedServingConfig
from modeldeploy.api.serverless import ADAPTER

# The seed's base model (issue 20, seed 003): Meta's, so it comes with an Azure Marketplace subscription.
LLAMA_31_8B = "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct"


class LlmAdapter(Section):
    """One adapter_id callers may send; the ModelDeployment ``<namespace>/<name>`` rolls out its versions."""

    name: str = Field(pattern=ADAPTER, description="the adapter_id, a DNS label of at most 32 characters")
    namespace: str = Field(
        "ml-serving",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="its ModelDeployment's namespace",
    )


class ServerlessConfig(Section):
    enabled: bool = Field(
        False, description="true for an LLM endpoint (serverless or managed) behind an LLM API"
    )
    name: str = Field(
        "llama-31-8b", pattern=r"^[a-z][a-z0-9-]{2,15}$", description="3-16 lowercase characters"
    )
    model_id: str = Field(
        LLAMA_31_8B,
        pattern=r"^azureml://registries/",
        description="an azureml://registries/... model id that offers serverless deployment",
    )
    endpoint_kind: Literal["serverless", "managed"] = Field(
        "serverless",
        description="serverless (pay per token, the default) or managed (a GPU online endpoint running "
        "serverless.managed.image); the operator's target.serverless.endpointKind",
    )
    managed: ManagedServingConfig = Field(
        ManagedServingConfig(), description="the managed online endpoint, when endpointKind is managed"
    )
    adapters: list[LlmAdapter] = Field(
        default_factory=list, max_length=50, description="the LoRA adapters the LLM API routes by adapter_id"
    )
    tokens_per_minute: int = Field(
        20_000, ge=100, description="prompt and completion tokens per subscription per minute (429 above)"
    )
    monthly_token_quota: int = Field(
        50_000_000, ge=1000, description="tokens per subscription per month (403 above)"
    )
    token_budget_per_day: int = Field(
        2_000_000, ge=1000, description="total tokens a day across callers before the token-budget alert"
    )
    latency_p95_ms: int = Field(5000, ge=100, description="p95 latency of the LLM API that alerts, in ms")
    blocked_percent: float = Field(
        5.0, gt=0, le=100, description="share of requests blocked by content safety that alerts, in percent"
    )
    safety_threshold: Literal[2, 4, 6] = Field(
        4,
        description="content-safety severity blocked from (2 low, 4 medium, 6 high; the seed blocks from 4)",
    )

    @model_validator(mode="after")
    def _unique_adapters(self) -> ServerlessConfig:
        names = [a.name for a in self.adapters]
        if len(names) != len(set(names)):
            raise ValueError(f"adapter names must be unique, got {names}")
        if self.endpoint_kind == "managed":
            key = f"{NAMESPACE}:serverless.managed"
            if self.managed.image is None:
                raise ValueError(
                    f"{key}.image is required when {NAMESPACE}:serverless.endpointKind is managed: the "
                    "endpoint runs that server. Fix: set it to the multi-LoRA server image in the platform's "
                    "registry, e.g. <registry>.azurecr.io/vllm-lora:0.6.3"
                )
            if self.managed.model_version is None:
                raise ValueError(
                    f"{key}.modelVersion is required when {NAMESPACE}:serverless.endpointKind is managed: a "
                    f"deployment mounts one version of {self.model_id}. Fix: set it to that model's version"
                )
        return self
