"""Registering ``model.artifactUri`` as a model version (``model.registration``), once.

Idempotent across restarts without any state of its own: every version the operator registers carries its
semantic version and artifact in tags, so before registering it lists the model's versions and reuses the
one with the same semantic version (refusing when that one came from another artifact). A crash after the
registration and before anything else only makes the next reconcile find it.

Versions are checked against the highest semantic version registered under the name: going backwards, or
skipping a major version without ``allowMajorSkip``, is refused. Azure ML numbers model versions; the
next one is one above the highest number in use.
"""

from __future__ import annotations

import json
from typing import Any

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.azureml.registry import ModelOps, ModelsFor
from modeldeploy.ports import Owner, RegistrationRefused

SEMVER, ARTIFACT, REGISTERED_BY = "semver", "artifact", "registered-by"


def _core(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in version.split("+")[0].split("-")[0].split("."))
    return major, minor, patch


def semver_problem(new: str, registered: list[str], allow_major_skip: bool) -> str | None:
    """Why ``new`` may not follow the ``registered`` semantic versions (None: it may)."""
    if not registered:
        return None
    highest = max(registered, key=_core)
    if _core(new) < _core(highest):
        return f"model.version {new} is older than {highest}, already registered: versions only go forward"
    if _core(new)[0] > _core(highest)[0] + 1 and not allow_major_skip:
        return (
            f"model.version {new} skips a major version after {highest}; set "
            "model.registration.allowMajorSkip if that is intended"
        )
    return None


def _number(version: Any) -> int:
    return int(version) if str(version).isdigit() else 0


class AzureMLRegistrar:
    """Registers through ``models_for(target, registry)``, a workspace's or a registry's model operations."""

    def __init__(self, models_for: ModelsFor) -> None:
        self.models_for = models_for

    def ensure(self, owner: Owner, spec: ModelDeploymentSpec) -> str:
        """The registered version's reference (``azureml:name:N`` or a registry URI), registering it once."""
        model, reg, target = spec.model, spec.model.registration, spec.target.azureml
        if reg is None or model.artifact_uri is None or target is None:
            raise RegistrationRefused("model.registration needs model.artifactUri and an azureml target")
        ops = self.models_for(target, reg.registry)
        versions = list(ops.list(name=model.name))
        tagged = [(m, dict(m.tags or {})) for m in versions]
        for m, tags in tagged:
            if tags.get(SEMVER) != model.version:
                continue
            if tags.get(ARTIFACT) != model.artifact_uri:
                raise RegistrationRefused(
                    f"model.version {model.version} of {model.name} is already registered (version "
                    f"{m.version}) from {tags.get(ARTIFACT)}: a new artifact needs a new model.version"
                )
            return self._ref(model.name, str(m.version), reg.registry)
        problem = semver_problem(
            model.version, [t[SEMVER] for _, t in tagged if SEMVER in t], reg.allow_major_skip
        )
        if problem is not None:
            raise RegistrationRefused(problem)
        number = str(max((_number(m.version) for m in versions), default=0) + 1)
        self._create(ops, spec, number, owner)
        return self._ref(model.name, number, reg.registry)

    @staticmethod
    def _ref(name: str, version: str, registry: str | None) -> str:
        if registry is None:
            return f"azureml:{name}:{version}"
        return f"azureml://registries/{registry}/models/{name}/versions/{version}"

    @staticmethod
    def _create(ops: ModelOps, spec: ModelDeploymentSpec, number: str, owner: Owner) -> None:
        from azure.ai.ml.constants import AssetTypes
        from azure.ai.ml.entities import Model

        model, reg = spec.model, spec.model.registration
        assert reg is not None
        tags = {
            SEMVER: model.version,
            ARTIFACT: str(model.artifact_uri),
            REGISTERED_BY: f"{owner.namespace}/{owner.name}",
            "framework": model.framework,
            "training-data": reg.training_data,
            "requirements": reg.requirements,
            "feature-schema": json.dumps([f.to_manifest() for f in reg.features], separators=(",", ":")),
        } | {f"metric.{m.name}": f"{m.value:g}" for m in reg.metrics}
        kind = AssetTypes.MLFLOW_MODEL if model.framework == "mlflow" else AssetTypes.CUSTOM_MODEL
        entity = Model(
            name=model.name,
            version=number,
            path=model.artifact_uri,
            type=kind,
            description=reg.description,
            tags=tags,
        )
        ops.create_or_update(entity)
