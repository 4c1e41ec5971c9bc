"""Manual actions, requested through the status so GitOps tools never fight them.

``kubectl mdep promote|promote-full|abort|pause|resume|retry`` writes ``status.request``
``{action, id, requestedAt}`` through the status subresource. Argo CD and Flux own the spec (and ignore the
status), so a request never makes the resource OutOfSync and is never reverted. The machine handles each
request id once, records it in ``lastHandledRequestId`` with a one-line result in
``lastHandledRequestResult``, and emits an event; a request that does not apply (promote with nothing in
progress, say) is recorded as rejected with the reason, never retried.

- promote: end the current step (or gate, or inconclusive pause) and start the next one.
- promote-full: the candidate takes 100% now (it must be Ready).
- abort: traffic back to stable; the candidate's spec is marked aborted (phase Degraded) until Git changes
  or a retry is requested.
- pause / resume: hold or release the current step; analysis failures still roll back while paused.
- retry: forget that the spec in Git failed, and roll it out again.
"""

from __future__ import annotations

from collections.abc import Callable

from modeldeploy.api.status import ManualAction, PauseReason, PauseState
from modeldeploy.rollout.actions import EventType
from modeldeploy.rollout.conditions import ABORTED
from modeldeploy.rollout.progress import fail, promote, start_step
from modeldeploy.rollout.serving import Readiness
from modeldeploy.rollout.validation import passed
from modeldeploy.rollout.work import Work


def handle_request(w: Work) -> bool:
    """Handle ``status.request`` if it is new; True when it was (accepted or rejected)."""
    request = w.status.request
    if request is None or request.id == w.status.last_handled_request_id:
        return False
    error = _HANDLERS[request.action](w)
    result = f"rejected: {error}" if error else "accepted"
    w.update(
        last_handled_request_id=request.id, last_handled_request_result=f"{request.action.value} {result}"
    )
    kind = EventType.WARNING if error else EventType.NORMAL
    w.note(kind, "ManualRequest", f"request {request.id} ({request.action.value}) {result}")
    return True


def _ready_candidate(w: Work) -> str | None:
    """An error when there is no candidate that could take traffic now."""
    c = w.status.candidate
    if c is None:
        return "no rollout in progress"
    if c.spec_hash != w.inputs.desired.spec_hash:  # Git moved on: never promote what it no longer holds
        return f"revision {c.name} is no longer the spec in Git"
    if w.inputs.readiness(c.name) is not Readiness.READY or c.ready_at is None:
        return f"revision {c.name} is not Ready"
    return None


def _promote(w: Work) -> str | None:
    error = _ready_candidate(w)
    if error:
        return error
    i = w.status.current_step_index
    c = w.status.candidate
    if w.inputs.plan.validate and i is None and c is not None and not passed(c.validation):
        # A step forward never skips the pre-traffic checks; a full promotion is the explicit override.
        return f"revision {c.name} has not passed validation yet (promote --full skips it)"
    w.update(pause=None)
    if w.status.stable is None:
        promote(w, "PromotedByRequest")
    else:
        start_step(w, 0 if i is None else i + 1)
    return None


def _promote_full(w: Work) -> str | None:
    error = _ready_candidate(w)
    if error:
        return error
    promote(w, "PromotedByRequest")
    return None


def _abort(w: Work) -> str | None:
    if w.status.candidate is None:
        return "no rollout in progress"
    fail(w, ABORTED, f"aborted by request {w.status.request.id if w.status.request else ''}")
    return None


def _pause(w: Work) -> str | None:
    if w.status.candidate is None:
        return "no rollout in progress"
    if w.status.pause is None:
        w.update(pause=PauseState(reason=PauseReason.MANUAL, since=w.inputs.now))
    return None


def _resume(w: Work) -> str | None:
    pause = w.status.pause
    if pause is None:
        return "not paused"
    if pause.reason is PauseReason.GATE:
        return "waiting at a gate: use promote (or abort)"
    w.update(pause=None)
    return None


def _retry(w: Work) -> str | None:
    digest = w.inputs.desired.spec_hash
    if not w.status.is_failed(digest):
        return f"revision {w.inputs.desired.name} has not failed"
    w.update(failed_revisions=[f for f in w.status.failed_revisions if f.spec_hash != digest])
    return None


_HANDLERS: dict[ManualAction, Callable[[Work], str | None]] = {
    ManualAction.PROMOTE: _promote,
    ManualAction.PROMOTE_FULL: _promote_full,
    ManualAction.ABORT: _abort,
    ManualAction.PAUSE: _pause,
    ManualAction.RESUME: _resume,
    ManualAction.RETRY: _retry,
}
