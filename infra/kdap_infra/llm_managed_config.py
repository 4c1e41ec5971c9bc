"""The `serverless.managed` section: the managed online endpoint that serves the base model with multi-LoRA
when `serverless.endpointKind` is `managed`, read by `llm_managed.ManagedLlm`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kdap_infra.config_sections import Section

# One A100 80 GB: an 8B model in bf16 (16 GB) leaves room for the KV cache and dozens of rank-16 adapters.
A100_SKU = "Standard_NC24ads_A100_v4"
# GPU families managed online endpoints offer (NC A100 v4 / H100 v5, ND A100 v4 / H100 v5): a CPU SKU cannot
# hold the base model, so it is refused here rather than after an hour of a failing deployment.
GPU_SKU = r"^Standard_N[CD][0-9]+[a-z]*_(A100_v4|H100_v5|v4|v5)$"
# <registry>.azurecr.io/<repository>[:tag|@sha256:digest]: the platform's own registry, whose AcrPull the
# endpoint is granted; a tag or digest is required so an image change is a visible config change.
ACR_IMAGE = (
    r"^[a-z0-9]{5,50}\.azurecr\.io/[a-z0-9]+(?:[._/-][a-z0-9]+)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$"
)
# Azure ML's ceiling for a managed deployment's request timeout (request_timeout_ms at most 180000).
MAX_REQUEST_TIMEOUT_SECONDS = 180


class ManagedServingConfig(Section):
    image: str | None = Field(
        None,
        pattern=ACR_IMAGE,
        description="the OpenAI-compatible multi-LoRA server image (e.g. vLLM) in the platform's container "
        "registry, as <name>.azurecr.io/<repository>:<tag> or @sha256:<digest>",
    )
    model_version: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$",
        description="the version of serverless.modelId the deployment mounts (a deployment needs a versioned "
        "model)",
    )
    instance_type: str = Field(
        A100_SKU,
        pattern=GPU_SKU,
        description="a GPU VM SKU of the NC or ND A100/H100 families, such as Standard_NC24ads_A100_v4",
    )
    instance_count: int = Field(1, ge=1, le=20, description="instances of the deployment, 1-20")
    max_loras: int = Field(
        8, ge=1, le=64, description="adapters the server keeps loaded on the GPU at once (vLLM --max-loras)"
    )
    max_lora_rank: Literal[8, 16, 32, 64, 128] = Field(
        16, description="the highest LoRA rank among the adapters (vLLM --max-lora-rank)"
    )
    request_timeout_seconds: int = Field(
        90,
        ge=5,
        le=MAX_REQUEST_TIMEOUT_SECONDS,
        description=f"seconds a completion may take, 5-{MAX_REQUEST_TIMEOUT_SECONDS} (Azure ML's ceiling)",
    )
    max_concurrent_requests: int = Field(
        32, ge=1, le=1024, description="requests each instance takes at once (the server batches them)"
    )
    monthly_budget: float | None = Field(
        None,
        gt=0,
        description="the endpoint's monthly budget (default: budget.perEndpointAmount, else an equal share)",
    )
