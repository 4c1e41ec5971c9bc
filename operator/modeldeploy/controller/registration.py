"""The reconciler's side of ``model.registration``: the spec as served, naming the registered version.

The registrar is asked once per (object, version, artifact, scope) in this process; after a restart it is
asked again and finds the version it registered (its tags say so), so nothing is registered twice. The spec
the rollout sees names ``model.registry`` instead of the artifact, so the deployment serves the registered
version and stage tags apply to it.
"""

from __future__ import annotations

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.ports import ModelRegistrar, Owner

Key = tuple[str, str, str, str]


class Registrations:
    def __init__(self, registrar: ModelRegistrar | None) -> None:
        self.registrar = registrar
        self._refs: dict[Key, str] = {}

    def served_spec(self, owner: Owner, spec: ModelDeploymentSpec) -> ModelDeploymentSpec:
        reg = spec.model.registration
        if reg is None:
            return spec
        if self.registrar is None:
            raise RuntimeError("this operator has no model registrar")
        key = (owner.uid, spec.model.version, spec.model.artifact_uri or "", reg.registry or "")
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = self.registrar.ensure(owner, spec)
        # model_copy, not validation: the served form names the registered version instead of the artifact.
        model = spec.model.model_copy(update={"registry": ref, "artifact_uri": None})
        return spec.model_copy(update={"model": model})

    def forget(self, uid: str) -> None:
        for key in [k for k in self._refs if k[0] == uid]:
            del self._refs[key]
