"""``Ready``, ``Reconciling`` and ``Stalled``: the status summary GitOps tools read (kstatus conventions).

Flux's health checks (``wait: true``), ``kubectl wait --for=condition=Ready`` and most dashboards do not
know this kind's phases; they read kstatus, which decides in this order: ``observedGeneration`` behind
``metadata.generation`` is InProgress; ``Reconciling=True`` is InProgress; ``Stalled=True`` is Failed (Flux
stops waiting at once); otherwise ``Ready`` True is Current and False is InProgress. So the three are
derived here from what the status already says, in one place, and every writer (the machine's report and
the reconciler's own conditions) passes through ``summarise``:

- a spec the operator refuses (``SpecValid=False``: invalid, denied by policy, registration refused) is
  Stalled: nothing happens until the spec or the policy changes;
- ``Promoted`` is Ready;
- ``Pending``, ``Progressing`` and ``Paused`` are Reconciling (a gate waits for a person, but the rollout is
  not finished and has not failed: a health check keeps waiting, as for a Deployment mid-rollout);
- ``RolledBack``, ``Degraded`` (aborted by hand) and ``Failed`` are Stalled with the failed revision's reason
  (``AnalysisFailed``, ``DriftDetected``, ``Aborted``...): Git asks for a revision the operator will not roll
  out again until the spec changes or a retry is requested;
- a backend error (``BackendHealthy=False``) makes an otherwise Ready object not Ready, still Reconciling:
  the operator retries with a backoff and the serving state cannot be confirmed meanwhile.
"""

from __future__ import annotations

from datetime import datetime

from modeldeploy.api.status import Condition, ConditionStatus, ModelDeploymentStatus, Phase, truncate
from modeldeploy.rollout.conditions import set_condition

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
SPEC_VALID = "SpecValid"
BACKEND_HEALTHY = "BackendHealthy"
IN_FLIGHT = (Phase.PENDING, Phase.PROGRESSING, Phase.PAUSED)
FAILED = (Phase.ROLLED_BACK, Phase.DEGRADED, Phase.FAILED)


def _false(status: ModelDeploymentStatus, type_: str) -> Condition | None:
    return next((c for c in status.conditions if c.type == type_ and c.status is ConditionStatus.FALSE), None)


def _failure_reason(status: ModelDeploymentStatus, phase: Phase, known: str | None) -> str:
    """Why Git's revision is not served. The machine knows which failed record is Git's (``known``); a
    writer that does not (the reconciler's own conditions) keeps the reason already recorded."""
    if known:
        return known
    stalled = next((c for c in status.conditions if c.type == STALLED), None)
    if stalled is not None and stalled.status is ConditionStatus.TRUE and stalled.reason:
        return stalled.reason
    return phase.value


def summary(
    status: ModelDeploymentStatus, generation: int, failure: str | None = None, spec_valid: bool = False
) -> tuple[Condition, Condition, Condition]:
    """(Ready, Reconciling, Stalled) for ``status`` at ``generation``, without transition times.
    ``failure``: the reason Git's revision failed, when the caller knows it. ``spec_valid``: the caller
    checked the spec (the machine runs only on a valid one), so a ``SpecValid=False`` left from an earlier
    generation is not a refusal of this one."""
    t, f = ConditionStatus.TRUE, ConditionStatus.FALSE
    phase = status.phase or Phase.PENDING
    message = status.message
    refused = None if spec_valid else _false(status, SPEC_VALID)
    backend = _false(status, BACKEND_HEALTHY)
    if refused is not None:
        ready, reconciling, stalled = (f, refused.reason), (f, refused.reason), (t, refused.reason)
        message = refused.message
    elif phase in FAILED:
        why = _failure_reason(status, phase, failure)
        ready, reconciling, stalled = (f, phase.value), (f, phase.value), (t, why)
    elif backend is not None:
        ready, reconciling, stalled = (f, backend.reason), (t, phase.value), (f, phase.value)
        message = f"{backend.reason}: {backend.message}" if backend.message else backend.reason
    elif phase in IN_FLIGHT:
        ready, reconciling, stalled = (f, phase.value), (t, phase.value), (f, phase.value)
    else:
        ready, reconciling, stalled = (t, phase.value), (f, phase.value), (f, phase.value)

    def cond(type_: str, value: tuple[ConditionStatus, str]) -> Condition:
        # kstatus shows the message of the condition that decided, so each carries the same sentence.
        return Condition(
            type=type_,
            status=value[0],
            reason=value[1],
            message=truncate(message),
            observed_generation=generation,
        )

    return cond(READY, ready), cond(RECONCILING, reconciling), cond(STALLED, stalled)


def summarise(
    status: ModelDeploymentStatus,
    generation: int,
    now: datetime,
    failure: str | None = None,
    spec_valid: bool = False,
) -> ModelDeploymentStatus:
    """``status`` with Ready, Reconciling and Stalled set from the rest of it (transition times kept)."""
    conditions = status.conditions
    for c in summary(status, generation, failure, spec_valid):
        conditions = set_condition(conditions, c, now)
    return status.model_copy(update={"conditions": conditions})
