"""Texts and conditions the reconciler writes for what the machine does not own (spec, policy, backend)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError

from modeldeploy.api.status import Condition, ConditionStatus, ModelDeploymentStatus, truncate
from modeldeploy.policy import Refusal
from modeldeploy.ports import BackendError
from modeldeploy.rollout.conditions import set_condition
from modeldeploy.rollout.readiness import summarise


def invalid_spec_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = "spec." + ".".join(str(p) for p in e["loc"]) if e["loc"] else "spec"
        parts.append(f"{where}: {e['msg']}")
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(parts) + more


def policy_message(refusals: Sequence[Refusal], limit: int = 5) -> str:
    more = f" (+{len(refusals) - limit} more)" if len(refusals) > limit else ""
    return "; ".join(str(r) for r in refusals[:limit]) + more


def with_condition(
    status: ModelDeploymentStatus,
    type_: str,
    value: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> ModelDeploymentStatus:
    new = Condition(
        type=type_, status=value, reason=reason, message=truncate(message), observed_generation=generation
    )
    # Ready/Reconciling/Stalled follow the condition just set (a refused spec or a backend error).
    updated = status.model_copy(update={"conditions": set_condition(status.conditions, new, now)})
    return summarise(updated, generation, now)


BACKEND_CONDITION = "BackendHealthy"


def backend_condition(
    status: ModelDeploymentStatus, err: BackendError | None, generation: int, now: datetime
) -> ModelDeploymentStatus:
    """``BackendHealthy``: True after a pass without a backend error, else False with its reason."""
    if err is None:
        return with_condition(
            status, BACKEND_CONDITION, ConditionStatus.TRUE, "Reachable", "", generation, now
        )
    return with_condition(
        status, BACKEND_CONDITION, ConditionStatus.FALSE, err.reason, err.message, generation, now
    )
