"""What is served: a versioned model, where its weights live, and the code and environment that score it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from . import patterns
from .base import ApiModel, cel
from .registration import Registration
from .target import IMAGE_PINNED_CEL, image_is_pinned

Framework = Literal["lightgbm", "xgboost", "sklearn", "mlflow", "onnx", "pytorch", "tensorflow", "custom"]


class ScoringCode(ApiModel):
    """The scoring script and the folder that holds it (an Azure ML code asset URI or a path in the image)."""

    uri: str = Field(max_length=1024, pattern=r"^(azureml:|azureml://|https://|file:///|/)[^\t\n\f\r ]+$")
    scoring_script: str = Field("score.py", pattern=r"^[A-Za-z0-9_./-]+\.py$", max_length=255)


class Environment(ApiModel):
    """The runtime: a container image, or an Azure ML environment reference. Set exactly one."""

    image: str | None = Field(None, pattern=patterns.IMAGE, max_length=512)
    azureml: str | None = Field(
        None,
        pattern=patterns.ENVIRONMENT_REF,
        max_length=512,
        description="azureml:name:version or azureml://registries/<registry>/environments/<name>/versions/<v>",
    )

    @cel(
        "has(self.image) != has(self.azureml)",
        "model.environment needs exactly one of image or azureml",
    )
    def _one_kind(self) -> bool:
        return (self.image is None) != (self.azureml is None)

    @cel(
        "!has(self.image) || " + IMAGE_PINNED_CEL.format(img="self.image"),
        "model.environment.image must carry a tag other than latest, or a digest",
        field_path=".image",
    )
    def _image_pinned(self) -> bool:
        return self.image is None or image_is_pinned(self.image)


class ModelSource(ApiModel):
    name: str = Field(pattern=rf"^{patterns.AZUREML_NAME}$", max_length=255)
    version: str = Field(
        pattern=patterns.SEMVER, max_length=64, description="Semantic version of this model build (1.4.0)."
    )
    framework: Framework = "custom"
    registry: str | None = Field(
        None,
        pattern=patterns.MODEL_REF,
        max_length=512,
        description="azureml:name:version or azureml://registries/<registry>/models/<name>/versions/<v>",
    )
    artifact_uri: str | None = Field(
        None,
        pattern=patterns.ARTIFACT_URI,
        max_length=2048,
        description="Weights outside a registry: https, azureml://datastores, abfss, runs:/, models:/, oci",
    )
    code: ScoringCode | None = None
    environment: Environment | None = None
    registration: Registration | None = Field(
        None, description="Register artifactUri as a version of this model before it is deployed."
    )
    tag_stages: bool = Field(
        False,
        description="Tag the registry's model version with its stage: staging while under test, production "
        "once promoted (with promoted-at, this ModelDeployment and the revision), archived when replaced; a "
        "rollback takes the staging tag back.",
    )

    @cel(
        "has(self.registry) != has(self.artifactUri)",
        "model needs exactly one of registry (azureml:name:version) or artifactUri",
    )
    def _one_source(self) -> bool:
        return (self.registry is None) != (self.artifact_uri is None)

    @cel(
        "!self.tagStages || has(self.registry) || has(self.registration)",
        "model.tagStages needs model.registry or model.registration (a registered version to tag)",
        field_path=".tagStages",
    )
    def _stages_need_registry(self) -> bool:
        return not self.tag_stages or self.registry is not None or self.registration is not None

    @cel(
        "!has(self.registration) || has(self.artifactUri)",
        "model.registration needs model.artifactUri (the artifact to register)",
        field_path=".registration",
    )
    def _register_needs_artifact(self) -> bool:
        return self.registration is None or self.artifact_uri is not None

    def semver(self) -> tuple[int, int, int]:
        """Major, minor and patch, for ordering releases."""
        core = self.version.split("+")[0].split("-")[0]
        major, minor, patch = (int(part) for part in core.split("."))
        return major, minor, patch
