"""kopf registrations. Thin by design: create/update/resume handlers only wake the object's daemon, the
daemon runs :class:`Reconciler` passes, and the delete handler (kopf's finalizer) removes what was created.

One daemon per ModelDeployment serialises its reconciles; kopf peering keeps a second operator replica idle,
and a replica that starts or resumes waits out a short handover (see :mod:`handover`) before acting.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import threading
import time
from typing import Any

import kopf

from modeldeploy.api import GROUP, PLURAL, VERSION
from modeldeploy.controller.handover import DEFAULT_SETTLE_SECONDS, Handover
from modeldeploy.controller.ports import Conflict
from modeldeploy.controller.reconciler import Reconciler, owner_of
from modeldeploy.controller.wiring import Wiring, build_wiring
from modeldeploy.observability import forget

log = logging.getLogger(__name__)

# Without an explicit requeue, resync this often (observes drift of the world, e.g. a deleted Deployment).
RESYNC_SECONDS = 30.0
CONFLICT_RETRY_SECONDS = 0.2
ERROR_RETRY_SECONDS = 5.0


def _wakers(memo: Any) -> dict[str, threading.Event]:
    wakers: dict[str, threading.Event] = memo["wakers"]
    return wakers


def _wake(memo: Any, uid: str) -> None:
    _wakers(memo).setdefault(uid, threading.Event()).set()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    # Annotations, not status: the status schema is ours, and GitOps tools ignore annotations they do not own.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP, key="last-handled")
    settings.posting.level = logging.WARNING
    settings.peering.name = "modeldeploy"
    # Replicas with equal priority all pause; a random one per process makes exactly one of them active.
    settings.peering.priority = int(
        os.environ.get("MODELDEPLOY_PEERING_PRIORITY") or random.randint(1, 2**31 - 1)
    )
    # Without a peering object a replica would act unguarded: wait for one (unless run --standalone).
    settings.peering.mandatory = not settings.peering.standalone
    # A crashed replica's record blocks the others until it expires: 30 s instead of kopf's 60 s.
    settings.peering.lifetime = 30
    settings.execution.max_workers = 32  # azure-ai-ml and the kubernetes client are synchronous
    settings.watching.server_timeout = 120
    if "wiring" not in memo:
        memo["wiring"] = build_wiring()
    settle = 0.0 if settings.peering.standalone else memo.get("peering_settle", DEFAULT_SETTLE_SECONDS)
    memo["handover"] = Handover(settle)
    # Per-object memos are shallow copies of this one: the dict must exist here to be shared by all of them.
    memo["wakers"] = {}


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
@kopf.on.resume(GROUP, VERSION, PLURAL)
def wake(uid: str, memo: kopf.Memo, **_: Any) -> None:
    _wake(memo, uid)


@kopf.on.field(GROUP, VERSION, PLURAL, field="status.request")
def manual_request(uid: str, memo: kopf.Memo, **_: Any) -> None:
    _wake(memo, uid)


@kopf.on.event("apps", "v1", "deployments", labels={"app.kubernetes.io/managed-by": "modeldeploy"})
def child_changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """A revision's Deployment moved (e.g. became Ready): reconcile its owner now, not at the next poll."""
    for ref in body.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == "ModelDeployment":
            _wake(memo, ref["uid"])


# The daemon notices `stopped` within 0.25 s; short cancellation timings let kopf release the finalizer
# about a second after deletion instead of after its 60 s default polling.
@kopf.daemon(
    GROUP,
    VERSION,
    PLURAL,
    initial_delay=0,
    cancellation_backoff=1,
    cancellation_timeout=30,
    cancellation_polling=0.5,
)
def rollout(stopped: kopf.DaemonStopped, body: kopf.Body, uid: str, memo: kopf.Memo, **_: Any) -> None:
    wiring: Wiring = memo["wiring"]
    reconciler: Reconciler = wiring.reconciler
    handover: Handover = memo["handover"]
    waker = _wakers(memo).setdefault(uid, threading.Event())
    try:
        _settle(handover.act_after(), stopped)
        _run(stopped, body, reconciler, waker)
    finally:
        if stopped.reason is not None and stopped.reason & kopf.DaemonStoppingReason.OPERATOR_PAUSING:
            handover.paused()


def _settle(act_after: float, stopped: kopf.DaemonStopped) -> None:
    left = act_after - time.monotonic()
    if left > 0:
        log.info("handover: waiting %.1fs before acting, so a replica this one displaces has stopped", left)
        stopped.wait(left)


def _run(
    stopped: kopf.DaemonStopped, body: kopf.Body, reconciler: Reconciler, waker: threading.Event
) -> None:
    while not stopped:
        waker.clear()
        snapshot: dict[str, Any] = copy.deepcopy(dict(body))
        if snapshot.get("metadata", {}).get("deletionTimestamp"):
            return
        read_version = snapshot["metadata"]["resourceVersion"]
        started = time.monotonic()
        try:
            outcome = reconciler.reconcile(snapshot)
            delay = outcome.requeue_after if outcome.requeue_after is not None else RESYNC_SECONDS
            log.info(
                "reconciled %s/%s in %.3fs: phase=%s actions=%s next in %.1fs",
                snapshot["metadata"].get("namespace"),
                snapshot["metadata"]["name"],
                time.monotonic() - started,
                outcome.status.phase,
                ",".join(outcome.actions_run) or "-",
                delay,
            )
        except Conflict:
            delay = CONFLICT_RETRY_SECONDS
        except Exception:
            log.exception(
                "reconcile of %s/%s failed",
                snapshot["metadata"].get("namespace"),
                snapshot["metadata"]["name"],
            )
            delay = ERROR_RETRY_SECONDS
        else:
            # Our own status write comes back through the watch; wait for it so the next pass reads it.
            if outcome.resource_version != read_version:
                _wait_for_version(body, read_version, stopped)
        _sleep(waker, stopped, max(delay, 0.05))


def _sleep(waker: threading.Event, stopped: kopf.DaemonStopped, seconds: float) -> None:
    """Until the requeue time, a wake-up, or kopf stopping the daemon (on deletion or shutdown: it must not
    wait out a long resync while the finalizer is pending)."""
    deadline = time.monotonic() + seconds
    while not stopped and not waker.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        waker.wait(timeout=min(left, 0.25))


def _wait_for_version(body: kopf.Body, old: str, stopped: kopf.DaemonStopped, timeout: float = 5.0) -> None:
    waited = 0.0
    while body.get("metadata", {}).get("resourceVersion") == old and waited < timeout and not stopped:
        stopped.wait(0.05)
        waited += 0.05


@kopf.on.delete(GROUP, VERSION, PLURAL)
def delete(body: kopf.Body, memo: kopf.Memo, uid: str, **_: Any) -> None:
    wiring: Wiring = memo["wiring"]
    snapshot: dict[str, Any] = copy.deepcopy(dict(body))
    owner = owner_of(snapshot)
    backend = wiring.backend_for_body(snapshot)
    if backend is not None:
        backend.delete_all(owner)
    _wakers(memo).pop(uid, None)
    forget(owner.namespace, owner.name)
