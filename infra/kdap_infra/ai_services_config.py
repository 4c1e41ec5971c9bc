"""The `aiServices` section of the stack config, read by `ai_services.AiServices`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kdap_infra.config_sections import Section


class AiServicesConfig(Section):
    enabled: bool = Field(False, description="true for Azure OpenAI, AI Search and Content Safety accounts")
    search_sku: Literal["basic", "standard", "standard2"] = Field(
        "basic", description="one of basic, standard, standard2"
    )
    openai_model: str = Field(
        "gpt-4o-mini", pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$", description="the Azure OpenAI model to deploy"
    )
    openai_model_version: str = Field(
        "2024-07-18", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="its version (YYYY-MM-DD)"
    )
    openai_capacity: int = Field(
        10, ge=1, le=1000, description="thousands of tokens per minute for the deployment"
    )
    # Seed 004 blocks content above Medium in every harm category; "Medium" blocks medium and high.
    content_filter_severity: Literal["Low", "Medium", "High"] = Field(
        "Medium",
        description="the lowest severity the deployment's content filters block: Low, Medium or High",
    )
