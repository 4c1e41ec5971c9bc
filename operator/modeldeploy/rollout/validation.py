"""The pre-traffic gate: a Ready candidate is validated (health check, sample requests) before its first step.

The machine asks with a ``ValidateRevision`` action and reads the verdict back as an observation
(``Inputs.validation``). It records the verdict on the candidate in the status, so a verdict is used once
and a restart neither re-validates a revision that passed nor lets one through that has not. A wrong answer
fails the revision at once (its traffic was 0%, the stable's never changed); an attempt that could not
reach it is retried every ``readiness_poll`` until ``validation_error_limit`` is exceeded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from modeldeploy.api.status import ModelDeploymentStatus, ValidationResult, Verdict
from modeldeploy.rollout.actions import EventType, ValidateRevision
from modeldeploy.rollout.inputs import Inputs
from modeldeploy.rollout.progress import fail
from modeldeploy.rollout.serving import Readiness
from modeldeploy.rollout.work import Work

VALIDATION_FAILED = "ValidationFailed"


def passed(result: ValidationResult | None) -> bool:
    return result is not None and result.verdict is Verdict.SUCCESSFUL


def gate(w: Work) -> Literal["passed", "changed", "wait"]:
    """Whether the Ready candidate may take traffic; "changed" when this call recorded a verdict."""
    candidate = w.status.candidate
    assert candidate is not None
    if not w.inputs.plan.validate or passed(candidate.validation):
        return "passed"
    r, last = w.inputs.validation, candidate.validation
    if r is None or r.revision != candidate.name:
        return "wait"
    if last is not None and last.time is not None and (r.time is None or r.time <= last.time):
        return "wait"  # a verdict already used (a retried reconcile feeds the same one again)
    attempts = (last.attempts if last is not None else 0) + 1
    recorded = r.model_copy(update={"attempts": attempts})
    w.update(candidate=candidate.model_copy(update={"validation": recorded}))
    if r.verdict is Verdict.SUCCESSFUL:
        msg = f"revision {candidate.name} passed validation: {r.message}".rstrip(": ")
        w.note(EventType.NORMAL, "ValidationPassed", msg, candidate.name)
    elif r.verdict is Verdict.ERROR and attempts <= w.inputs.plan.validation_error_limit:
        msg = f"revision {candidate.name}: validation could not run (attempt {attempts}): {r.message}"
        w.note(EventType.WARNING, "ValidationError", msg, candidate.name)
    elif r.verdict is Verdict.ERROR:
        fail(w, VALIDATION_FAILED, f"validation could not reach the revision {attempts} times: {r.message}")
    else:
        fail(w, VALIDATION_FAILED, f"validation failed: {r.message}")
    return "changed"


def validation_due(i: Inputs, s: ModelDeploymentStatus) -> ValidateRevision | None:
    """The request to validate the candidate, when it is Ready, not yet judged and not waiting out a retry."""
    c = s.candidate
    if not i.plan.validate or c is None or s.current_step_index is not None or s.pause is not None:
        return None
    if c.ready_at is None or i.readiness(c.name) is not Readiness.READY or passed(c.validation):
        return None
    last = c.validation
    if last is not None and last.time is not None:
        if i.now < last.time + timedelta(seconds=i.plan.readiness_poll):
            return None
        return ValidateRevision(c.name, last.attempts + 1, s.stable.name if s.stable else None)
    return ValidateRevision(c.name, 1, s.stable.name if s.stable else None)
