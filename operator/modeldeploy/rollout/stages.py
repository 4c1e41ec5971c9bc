"""Stages in the model registry, derived from the status: the stable revision's version is production
(since its promotion), the candidate's is staging. The machine asks for a ``SyncStages`` whenever that
differs from the state last applied (``status.stages``, written by the reconciler after the registry
accepted it), so a crash between the two only repeats an idempotent sync.

A candidate that failed or was superseded drops out of the derived state; its version is released: it gets
back the stage it had before it was staged (a rollback sets the tags back).
"""

from __future__ import annotations

from modeldeploy.api.status import ModelDeploymentStatus, ModelStages, StagedVersion
from modeldeploy.rollout.actions import SyncStages
from modeldeploy.rollout.inputs import Inputs
from modeldeploy.rollout.revision import DesiredRevision


def derived_stages(s: ModelDeploymentStatus, desired: DesiredRevision) -> ModelStages:
    stable, candidate = s.stable, s.candidate
    production = None
    # A stable revision promoted before tagStages was set has no ref of its own; the spec that cut it does.
    ref = stable.model_ref if stable is not None else None
    if stable is not None and not ref and stable.spec_hash == desired.spec_hash:
        ref = desired.model_ref
    if stable is not None and ref:
        production = StagedVersion(ref=ref, revision=stable.name, since=stable.promoted_at)
    staging = None
    if (
        candidate is not None
        and candidate.model_ref
        and (production is None or candidate.model_ref != production.ref)
    ):
        staging = StagedVersion(ref=candidate.model_ref, revision=candidate.name, since=candidate.created_at)
    return ModelStages(production=production, staging=staging)


def stages_due(i: Inputs, s: ModelDeploymentStatus) -> SyncStages | None:
    if not i.plan.tag_stages:
        return None
    want, applied = derived_stages(s, i.desired), s.stages or ModelStages()
    if want == applied:
        return None
    kept = {v.ref for v in (want.production, want.staging) if v is not None}
    release = tuple(v for v in (applied.staging,) if v is not None and v.ref not in kept)
    return SyncStages(want, release)
