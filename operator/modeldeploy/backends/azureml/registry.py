"""Stages on registered model versions, workspace or shared registry, through ``MLClient.models``.

Each version carries the SDK's own ``stage`` field (Staging, Production, Archived: what Azure ML studio
shows) and tags anyone can query: ``stage``, ``promoted-at``, ``modeldeployment`` (namespace/name),
``revision``, ``release`` (``v2025.12.production``), ``previous-stage`` while staged, ``archived-at``.

Every write is preceded by a read of the version and skipped when the version already says what it should,
so a sync repeated after a restart changes nothing. A version another ModelDeployment holds in staging or
production is left alone (two endpoints may serve one model), and only versions this ModelDeployment
promoted are archived when it promotes another.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec, ServerlessTarget
from modeldeploy.api.status import StagedVersion
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.actions import SyncStages

STAGE, PROMOTED_AT, OWNER, REVISION = "stage", "promoted-at", "modeldeployment", "revision"
RELEASE, PREVIOUS, ARCHIVED_AT = "release", "previous-stage", "archived-at"
PRODUCTION, STAGING, ARCHIVED, NONE = "production", "staging", "archived", "none"
_REF = re.compile(r"^azureml:(?P<name>[^:/]+):(?P<version>[^:/]+)$")
_REGISTRY_REF = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$"
)


class ModelOps(Protocol):
    """``azure.ai.ml.operations.ModelOperations`` (workspace or registry scoped)."""

    def get(self, name: str, version: str | None = None) -> Any: ...

    def list(self, name: str | None = None) -> Iterable[Any]: ...

    def create_or_update(self, model: Any) -> Any: ...


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    registry: str | None = None

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        m = _REF.match(ref) or _REGISTRY_REF.match(ref)
        if m is None:
            raise BackendError(
                "ModelRefInvalid", f"{ref!r} is not azureml:name:version or a registry URI", False
            )
        return cls(m["name"], m["version"], m.groupdict().get("registry"))


Workspace = AzureMLTarget | ServerlessTarget  # what holds the model, or reaches its registry
ModelsFor = Callable[[Workspace, str | None], ModelOps]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class AzureMLModelRegistry:
    """``ModelRegistry`` over azure-ai-ml; ``models_for(target, registry)`` gives the workspace's model
    operations (``registry`` None) or a shared registry's."""

    models_for: ModelsFor

    def sync(self, owner: Owner, spec: ModelDeploymentSpec, request: SyncStages, now: datetime) -> str:
        # An adapter on a serverless target is tagged like a model on an azureml one (seed 003's stages).
        target = spec.target.azureml or spec.target.serverless
        if target is None:
            raise BackendError(
                "StagesNeedAzureML", "model.tagStages needs an azureml or serverless target", False
            )
        who = f"{owner.namespace}/{owner.name}"
        done: list[str] = []
        for released in request.release:
            done += self._release(target, released, who)
        if request.desired.staging is not None:
            done += self._stage(target, request.desired.staging, who, now)
        if request.desired.production is not None:
            done += self._promote(target, request.desired.production, who, now)
        return "; ".join(done)

    def _ops(self, target: Workspace, ref: ModelRef) -> ModelOps:
        return self.models_for(target, ref.registry)

    @staticmethod
    def _write(ops: ModelOps, model: Any, tags: dict[str, str], stage: str | None) -> None:
        model.tags = tags
        model.stage = stage.capitalize() if stage and stage != NONE else None
        ops.create_or_update(model)

    def _promote(self, target: Workspace, v: StagedVersion, who: str, now: datetime) -> list[str]:
        ref = ModelRef.parse(v.ref)
        ops = self._ops(target, ref)
        since = v.since or now
        want = {STAGE: PRODUCTION, PROMOTED_AT: _iso(since), OWNER: who, REVISION: v.revision}
        want[RELEASE] = f"v{since:%Y.%m}.{PRODUCTION}"
        done: list[str] = []
        model = ops.get(ref.name, ref.version)
        tags = dict(model.tags or {})
        if any(tags.get(k) != val for k, val in want.items()) or model.stage != "Production":
            tags = {k: val for k, val in tags.items() if k not in (PREVIOUS, ARCHIVED_AT)} | want
            self._write(ops, model, tags, PRODUCTION)
            done.append(f"{v.ref} production")
        for other in ops.list(name=ref.name):
            seen = dict(other.tags or {})
            if str(other.version) == ref.version or seen.get(STAGE) != PRODUCTION or seen.get(OWNER) != who:
                continue
            current = ops.get(ref.name, str(other.version))  # read again: a listing may be stale
            tags = dict(current.tags or {})
            if tags.get(STAGE) != PRODUCTION or tags.get(OWNER) != who:
                continue
            tags |= {STAGE: ARCHIVED, ARCHIVED_AT: _iso(now), RELEASE: f"v{now:%Y.%m}.{ARCHIVED}"}
            self._write(ops, current, tags, ARCHIVED)
            done.append(f"{ref.name}:{other.version} archived")
        return done

    def _stage(self, target: Workspace, v: StagedVersion, who: str, now: datetime) -> list[str]:
        ref = ModelRef.parse(v.ref)
        ops = self._ops(target, ref)
        model = ops.get(ref.name, ref.version)
        tags = dict(model.tags or {})
        stage = tags.get(STAGE, NONE)
        if stage in (STAGING, PRODUCTION) and tags.get(OWNER) not in (None, who):
            return [f"{v.ref} left {stage} for {tags[OWNER]}"]
        if stage == STAGING and tags.get(OWNER) == who and tags.get(REVISION) == v.revision:
            return []
        previous = tags.get(PREVIOUS, NONE) if stage == STAGING else stage
        tags |= {STAGE: STAGING, OWNER: who, REVISION: v.revision, PREVIOUS: previous}
        tags.pop(RELEASE, None)
        self._write(ops, model, tags, STAGING)
        return [f"{v.ref} staging"]

    def _release(self, target: Workspace, v: StagedVersion, who: str) -> list[str]:
        """A candidate that failed or was superseded: its version gets back the stage it had."""
        ref = ModelRef.parse(v.ref)
        ops = self._ops(target, ref)
        model = ops.get(ref.name, ref.version)
        tags = dict(model.tags or {})
        if tags.get(STAGE) != STAGING or tags.get(OWNER) != who or tags.get(REVISION) != v.revision:
            return []  # moved on since (promoted, or staged by a newer candidate): nothing to undo
        previous = tags.pop(PREVIOUS, NONE)
        for key in (OWNER, REVISION) if previous == NONE else ():
            tags.pop(key, None)
        if previous == NONE:
            tags.pop(STAGE, None)
        else:
            tags[STAGE] = previous
        self._write(ops, model, tags, previous)
        return [f"{v.ref} back to {previous}"]
