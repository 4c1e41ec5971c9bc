"""Azure ML model versions in memory, kept as the service keeps them (REST ``ModelVersion`` objects) and
handed out as the SDK's own ``Model`` entities, as ``MLClient.models`` does for a workspace or a registry."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from azure.ai.ml.entities import Model

from tests.backends.azureml.fakes import http_error


@dataclass
class FakeModels:
    """One scope's model versions: a workspace (``registry`` None) or a shared registry."""

    registry: str | None = None
    versions: dict[tuple[str, str], Any] = field(default_factory=dict)  # (name, version) -> REST ModelVersion
    writes: list[tuple[str, str]] = field(default_factory=list)

    def _id(self, name: str, version: str) -> str:
        if self.registry is not None:
            return f"azureml://registries/{self.registry}/models/{name}/versions/{version}"
        return (
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-kdap/providers/"
            f"Microsoft.MachineLearningServices/workspaces/mlw-kdap/models/{name}/versions/{version}"
        )

    def register(self, name: str, version: str, **kw: Any) -> None:
        """A version registered outside the operator (by a training pipeline)."""
        path = f"azureml://datastores/workspaceblobstore/paths/{name}/{version}/model.txt"
        self._store(Model(name=name, version=version, path=path, **kw))

    def _store(self, model: Model) -> None:
        rest = model._to_rest_object()
        rest.id = self._id(str(model.name), str(model.version))
        if rest.properties.flavors is None:  # the service answers {} where the SDK sends nothing
            rest.properties.flavors = {}
        self.versions[(str(model.name), str(model.version))] = rest

    def get(self, name: str, version: str | None = None) -> Model:
        rest = self.versions.get((name, str(version)))
        if rest is None:
            raise http_error(404, "ResourceNotFound", f"model {name}:{version} not found")
        return Model._from_rest_object(copy.deepcopy(rest))

    def list(self, name: str | None = None) -> Iterator[Model]:
        for (n, _), rest in sorted(self.versions.items()):
            if name is None or n == name:
                yield Model._from_rest_object(copy.deepcopy(rest))

    def create_or_update(self, model: Model) -> Model:
        if not isinstance(model, Model):
            raise TypeError(f"expected Model, got {type(model)}")
        self.writes.append((str(model.name), str(model.version)))
        self._store(model)
        return self.get(str(model.name), str(model.version))

    def tags(self, name: str, version: str) -> dict[str, str]:
        return dict(self.get(name, version).tags or {})

    def stage(self, name: str, version: str) -> str | None:
        stage: str | None = self.get(name, version).stage
        return stage
