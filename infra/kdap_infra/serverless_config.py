"""The `serverless` section of the stack config, read by `serverless.ServerlessModel`."""

from __future__ import annotations

from pydantic import Field

from kdap_infra.config_sections import Section


class ServerlessConfig(Section):
    enabled: bool = Field(False, description="true for a pay-per-token model endpoint")
    name: str = Field("lora-base", pattern=r"^[a-z][a-z0-9-]{2,15}$", description="3-16 lowercase characters")
    model_id: str = Field(
        "azureml://registries/azureml/models/Phi-3-mini-4k-instruct",
        pattern=r"^azureml://registries/",
        description="an azureml://registries/... model id that offers serverless deployment",
    )
