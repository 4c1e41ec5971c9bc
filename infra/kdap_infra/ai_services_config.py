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
