"""kopf registrations. Thin by design: kopf watches, peers and delivers events; the handlers only feed the
caches and the work queue of :class:`~modeldeploy.controller.workers.Controller`, whose bounded pool of
workers reconciles and finalizes (see workers.py for why no thread or task exists per object).

Every handler is ``async`` and returns at once, so none of them takes a thread of kopf's executor.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable, Iterable
from typing import Any, cast

import kopf

from modeldeploy.api import GROUP, PLURAL, POLICY_PLURAL, VERSION
from modeldeploy.backends.kubernetes.backend import pod_failure
from modeldeploy.backends.kubernetes.cache import ChildCache, owner_key
from modeldeploy.controller.childwatch import CHILD_KINDS, ChildWatches, api_transport
from modeldeploy.controller.handover import DEFAULT_SETTLE_SECONDS, Handover
from modeldeploy.controller.kube import KubeFinalizers
from modeldeploy.controller.platform_handoff import DEFAULT_CONFIGMAP
from modeldeploy.controller.wiring import Wiring, build_wiring, load_kube_config
from modeldeploy.controller.workers import Controller, Settings
from modeldeploy.observability import forget
from modeldeploy.observability.metrics import register_queue

log = logging.getLogger(__name__)
MANAGED = {"app.kubernetes.io/managed-by": "modeldeploy"}


class _NoDiffBase(kopf.DiffBaseStorage):
    """kopf deep-copies every watched body to find what changed for change handlers; this operator has
    none (its handlers only watch), so there is nothing to build: that copy was 8 % of its CPU at N=1000."""

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        return cast(kopf.BodyEssence, {})

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def _controller(memo: Any) -> Controller:
    ctl: Controller = memo["controller"]
    return ctl


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # No kopf finalizer, progress or diff-base writes: the work queue owns deletion (workers.py) and kopf
    # only watches. kopf drops a finalizer it believes no handler needs, so its marker keeps kopf's own
    # name, never ours.
    settings.persistence.diffbase_storage = _NoDiffBase()
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
    settings.execution.max_workers = 4  # handlers are async; only kopf's own sync work uses threads
    settings.watching.server_timeout = 120
    if memo.get("namespaces"):
        # Exact namespaces (the namespaced install): no cluster-wide discovery of namespaces or CRDs, which
        # its roles do not grant; every resource here is named in full (group, version, plural).
        settings.scanning.disabled = True
    if "wiring" not in memo:
        memo["wiring"] = build_wiring(
            connections=int(memo.get("workers", Settings.workers)) + 4,
            data_root=memo.get("data_root"),
            policy=memo.get("policy", "enforce"),
            validation_address=memo.get("validation_address"),
            handoff=memo.get("platform_handoff", DEFAULT_CONFIGMAP),
            pushdown_bytes=memo.get("pushdown_bytes"),
            spark_local_dir=memo.get("spark_local_dir"),
        )
    wiring: Wiring = memo["wiring"]
    wiring.policy.prime(wiring.api)  # before any worker: no verdict on a half-known policy set
    settle = 0.0 if settings.peering.standalone else memo.get("peering_settle", DEFAULT_SETTLE_SECONDS)
    ctl = Controller(
        wiring.reconciler,
        KubeFinalizers(wiring.api),
        Handover(settle),
        Settings(
            workers=int(memo.get("workers", Settings.workers)),
            resync=float(memo.get("resync", Settings.resync)),
        ),
    )
    ctl.on_forget.append(lambda ns, name, uid: wiring.children.forget_owner(ns, name))
    ctl.on_forget.append(lambda ns, name, uid: wiring.reconciler.forget(uid))
    ctl.on_forget.append(lambda ns, name, uid: forget(ns, name))
    register_queue(ctl.queue, ctl.settings.workers, ctl.bodies.__len__)
    if memo.get("paused"):
        ctl.set_paused(True)
    memo["controller"] = ctl
    ctl.start()
    # Their own connections (a watch holds one for minutes), beside the workers' pool.
    watches = ChildWatches(
        api_transport(load_kube_config(len(CHILD_KINDS) * max(1, len(memo.get("namespaces") or [])))),
        list(memo.get("namespaces") or []),
        ",".join(f"{k}={v}" for k, v in MANAGED.items()),
        WakeOwners(wiring.children, ctl.wake),
    )
    memo["child_watches"] = watches
    watches.start()
    if wiring.policy.enforcing:
        threading.Thread(
            target=_refresh_policies, args=(wiring, ctl), name="modeldeploy-policy-refresh", daemon=True
        ).start()


@kopf.on.cleanup()
def shutdown(memo: kopf.Memo, **_: Any) -> None:
    if "child_watches" in memo:
        memo["child_watches"].stop()
    if "controller" in memo:
        _controller(memo).stop()
    if "wiring" in memo and memo["wiring"].analysis is not None:
        memo["wiring"].analysis.close()  # local Spark jobs run in their own sessions: not killed with us


def on_peering_pause(memo: kopf.Memo, paused: bool) -> None:
    """From :func:`modeldeploy.controller.peering.follow_pausing`, on kopf's event loop."""
    memo["paused"] = paused
    if "controller" in memo:
        _controller(memo).set_paused(paused)
        if not paused and "wiring" in memo:
            # A paused replica's watches may have missed a deletion: re-list now (the handover delay before
            # its workers act is longer than two LISTs), off the event loop.
            wiring: Wiring = memo["wiring"]
            threading.Thread(
                target=_relist,
                args=(wiring, _controller(memo)),
                name="modeldeploy-policy-relist",
                daemon=True,
            ).start()


def _relist(wiring: Wiring, ctl: Controller) -> None:
    try:
        ctl.wake_namespaces(wiring.policy.prime(wiring.api))
    except Exception:  # the next refresh tries again; the watches keep the caches current meanwhile
        log.exception("policy: re-listing ModelDeploymentPolicies and namespaces failed")


def _refresh_policies(wiring: Wiring, ctl: Controller) -> None:
    """Bound how long a deletion missed by a re-listing watch (rare: after the apiserver expired its
    resourceVersion) can go unnoticed: one resync period, two requests whatever the number of objects."""
    while not ctl.stopping.wait(ctl.settings.resync):
        _relist(wiring, ctl)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def model_deployment(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    _controller(memo).observed(str(event["type"]), event["object"])


class WakeOwners:
    """Child watch events (childwatch.py) into the cache, waking the owning ModelDeployment when it matters:
    a revision's Deployment moved (e.g. became Ready) or a route changed. Our own writes are already in the
    cache (written through), so they wake nobody. Pods only matter when one will never become ready (bad
    image, crash loop); readiness itself arrives through the Deployment."""

    def __init__(self, children: ChildCache, wake: Callable[[tuple[str, str]], None]) -> None:
        self._children, self._wake = children, wake

    def event(self, event_type: str, obj: dict[str, Any]) -> None:
        news = self._children.observe(event_type, obj)
        if obj.get("kind") == "Pod":
            news = event_type != "DELETED" and pod_failure(obj) is not None
        key = owner_key(obj) if news else None
        if key is not None:
            self._wake(key)

    def relisted(self, kind: str, namespace: str | None, present: set[tuple[str, str]], list_rv: str) -> None:
        for gone in self._children.relisted(kind, namespace, present, list_rv):
            key = owner_key(gone)
            if key is not None and kind != "Pod":
                self._wake(key)


def watch_policies() -> None:
    """Register the policy and namespace watches (only when enforcing: with ``--policy off`` the operator
    needs no access to either)."""
    kopf.on.event(GROUP, VERSION, POLICY_PLURAL)(policy)
    kopf.on.event("", "v1", "namespaces")(namespace_labels)


async def policy(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    wiring: Wiring = memo["wiring"]
    affected = wiring.policy.observe_policy(str(event["type"]), event["object"])
    woken = _controller(memo).wake_namespaces(affected)
    log.info("policy %s %s: %d objects re-checked", event["object"]["metadata"]["name"], event["type"], woken)


async def namespace_labels(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    wiring: Wiring = memo["wiring"]
    obj = event["object"]
    if wiring.policy.observe_namespace(str(event["type"]), obj):
        _controller(memo).wake_namespaces({str(obj["metadata"]["name"])})
