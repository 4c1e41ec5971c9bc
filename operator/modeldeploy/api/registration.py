"""``model.registration``: the operator registers the artifact as a model version, with the metadata a
platform team needs to answer "what is this, trained on what, how good, what does it need".

Semantic versions are checked against what is already registered under the model's name: going backwards,
or skipping a major version (1.x to 3.0) without ``allowMajorSkip``, is refused with a message that names
both versions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import ApiModel

_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$"


class ValidationMetric(ApiModel):
    """A metric measured on the validation set when the model was trained (RMSE, AUC, ...)."""

    name: str = Field(pattern=_NAME, max_length=63)
    value: float


class FeatureField(ApiModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$", max_length=128)
    type: Literal["number", "integer", "string", "boolean", "category", "datetime"]


_BY_NAME: dict[str, Any] = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}


class Registration(ApiModel):
    """Register ``model.artifactUri`` as a version of ``model.name`` (the workspace, or ``registry``)."""

    description: str = Field(min_length=1, max_length=1024)
    training_data: str = Field(
        max_length=2048,
        pattern=r"^(https://|azureml:|azureml://|abfss://|wasbs://|runs:/)[^\t\n\f\r ]+$",
        description="The training dataset (a data asset or a URI).",
    )
    metrics: list[ValidationMetric] = Field(
        default_factory=list, max_length=32, json_schema_extra=dict(_BY_NAME)
    )
    features: list[FeatureField] = Field(
        default_factory=list, max_length=256, json_schema_extra=dict(_BY_NAME), description="Feature schema."
    )
    requirements: str = Field(
        "", max_length=1024, description="Deployment requirements (CPU, memory, GPU, SKU) in words."
    )
    registry: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,62}$",
        max_length=63,
        description="A shared Azure ML registry; unset: the target's workspace.",
    )
    allow_major_skip: bool = Field(False, description="Allow a version more than one major above the last.")
