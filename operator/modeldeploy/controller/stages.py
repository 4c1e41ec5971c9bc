"""The reconciler's side of ``SyncStages``: ask the registry, record what it accepted in the status.

A failure is a Warning Event and a retry (the machine asks again while the applied state differs); the
status keeps the last state the registry accepted, so nothing is recorded that was not applied.
"""

from __future__ import annotations

from datetime import datetime

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import ModelDeploymentStatus
from modeldeploy.ports import BackendError, EventSink, ModelRegistry, Owner
from modeldeploy.rollout.actions import EventType, SyncStages

STAGE_RETRY = 30.0


def sync_stages(
    registry: ModelRegistry | None,
    events: EventSink,
    owner: Owner,
    spec: ModelDeploymentSpec,
    action: SyncStages,
    now: datetime,
    status: ModelDeploymentStatus,
) -> ModelDeploymentStatus | None:
    """The status with ``stages`` recorded, or None when the registry refused (an Event says why)."""
    try:
        if registry is None:
            raise RuntimeError("this operator has no model registry client")
        summary = registry.sync(owner, spec, action, now)
    except Exception as exc:
        why = exc.message if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
        msg = f"registry stages not applied (retried in {STAGE_RETRY:g}s): {why}"
        events.emit(owner, EventType.WARNING, "StageTaggingFailed", msg)
        return None
    if summary:
        events.emit(owner, EventType.NORMAL, "StagesTagged", summary)
    return status.model_copy(update={"stages": action.desired})
