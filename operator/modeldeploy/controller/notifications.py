"""Notifications delivered off the reconcile path, with retries, as the Events are (``events.py``).

``notify`` only matches the Event against the subscriptions and appends to a bounded buffer: a receiver
that is down, slow or refusing never holds a worker, and so never a rollout. One thread takes due
deliveries in time order; each reads the receiver's URL from its Secret through the Kubernetes API (never
from the spec), checks the URL's host against the ModelDeploymentPolicy grant, and POSTs through
``modeldeploy.http.OPENER`` (redirects are not followed: a Location could point anywhere). A failure is
tried again after an exponential backoff, or after the receiver's ``Retry-After`` (capped, so one receiver
cannot park a delivery for a day); after the last attempt it is logged, counted and an Event on the object
says which subscription failed and why. The URL is a credential: no log or Event repeats it.
"""

from __future__ import annotations

import base64
import email.utils
import heapq
import itertools
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from modeldeploy.api.notifications import Subscription
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.http import OPENER
from modeldeploy.notify import Notice, Route, render, routes
from modeldeploy.ports import EventSink, Owner
from modeldeploy.rollout.actions import EmitEvent, EventType

log = logging.getLogger(__name__)

BUFFER = 1_000
ATTEMPTS = 5
BACKOFF = 2.0  # seconds before the second attempt, doubled each time
MAX_DELAY = 60.0  # cap on the backoff and on a receiver's Retry-After
TIMEOUT = 10.0
# Answers worth trying again; any other 4xx says the request itself is wrong (or the URL revoked).
_RETRYABLE = {408, 425, 429}


class Failure(Exception):
    def __init__(self, message: str, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable, self.retry_after = retryable, retry_after


class Secrets(Protocol):
    def read(self, namespace: str, name: str) -> Mapping[str, str]:
        """The Secret's data, decoded; raises :class:`Failure` when it cannot be read."""


class Gate(Protocol):
    def notification_defaults(self, namespace: str) -> list[tuple[str, Sequence[Subscription]]]: ...

    def notification_refusal(
        self, namespace: str, name: str, spec: ModelDeploymentSpec, url: str
    ) -> str | None: ...


Post = Callable[[urllib.request.Request, float], None]
# (namespace, kind, outcome): sent, retried, failed, dropped
Count = Callable[[str, str, str], None]


def _post(request: urllib.request.Request, timeout: float) -> None:
    # The answer's body is never read (only its status): a receiver cannot make the operator read much.
    with OPENER.open(request, timeout=timeout) as resp:
        if resp.status >= 300:
            raise Failure(f"answered HTTP {resp.status}", retryable=False)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    owner: Owner = field(compare=False)
    spec: ModelDeploymentSpec = field(compare=False)
    route: Route = field(compare=False)
    notice: Notice = field(compare=False)
    attempt: int = field(default=1, compare=False)


class Notifier:
    def __init__(
        self,
        secrets: Secrets,
        operator_namespace: str,
        gate: Gate | None = None,
        events: EventSink | None = None,
        post: Post = _post,
        count: Count = lambda namespace, kind, outcome: None,
        buffer: int = BUFFER,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        max_delay: float = MAX_DELAY,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets, self._namespace, self._gate, self._events = secrets, operator_namespace, gate, events
        self._post, self._count, self._buffer = post, count, buffer
        self._attempts, self._backoff, self._max_delay, self._timeout = attempts, backoff, max_delay, timeout
        self._clock = clock
        self._heap: list[_Delivery] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="modeldeploy-notify", daemon=True)
        self._thread.start()

    # ---- the reconcile path: match and enqueue, nothing else ---------------------------------------

    def notify(self, owner: Owner, spec: ModelDeploymentSpec, event: EmitEvent, now: datetime) -> int:
        """Queue the Event for every subscription that asked for it; returns how many were queued."""
        defaults = self._gate.notification_defaults(owner.namespace) if self._gate is not None else []
        found = routes(event.notices, spec.notifications, defaults)
        queued = 0
        for route in found:
            notice = Notice(
                namespace=owner.namespace,
                name=owner.name,
                uid=owner.uid,
                trigger=route.trigger,
                reason=event.reason,
                message=event.message,
                warning=event.type is EventType.WARNING,
                revision=event.revision,
                model=spec.model.name,
                version=spec.model.version,
                time=now,
            )
            kind = route.subscription.to.kind
            with self._cond:
                if len(self._heap) >= self._buffer:
                    self._count(owner.namespace, kind, "dropped")
                    log.warning("notification buffer full: dropped %s for %s", event.reason, route.field)
                    continue
                heapq.heappush(
                    self._heap, _Delivery(self._clock(), next(self._seq), owner, spec, route, notice)
                )
                self._cond.notify_all()
            queued += 1
        return queued

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery ended (sent or given up); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # ---- the delivery thread ------------------------------------------------------------------------

    def _next(self) -> _Delivery | None:
        with self._cond:
            while not self._stopped:
                if self._heap and self._heap[0].due <= self._clock():
                    self._busy = True
                    return heapq.heappop(self._heap)
                wait = self._heap[0].due - self._clock() if self._heap else None
                self._cond.wait(wait)
            return None

    def _run(self) -> None:
        while (item := self._next()) is not None:
            try:
                self._attempt(item)
            except Exception:  # a bug here must not end the thread: later notifications still go out
                log.exception("notification for %s failed unexpectedly", item.route.field)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _attempt(self, item: _Delivery) -> None:
        kind = item.route.subscription.to.kind
        try:
            self._deliver(item)
        except Failure as exc:
            if exc.retryable and item.attempt < self._attempts:
                delay = self._backoff * 2 ** (item.attempt - 1)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                delay = min(delay, self._max_delay)
                self._count(item.owner.namespace, kind, "retried")
                log.info(
                    "notification %s for %s/%s via %s: attempt %d failed (%s); next in %.0fs",
                    item.notice.trigger, item.owner.namespace, item.owner.name, item.route.field,
                    item.attempt, exc, delay,
                )  # fmt: skip
                item.due, item.attempt = self._clock() + delay, item.attempt + 1
                with self._cond:
                    heapq.heappush(self._heap, item)
                return
            self._give_up(item, str(exc))
            return
        self._count(item.owner.namespace, kind, "sent")

    def _give_up(self, item: _Delivery, reason: str) -> None:
        kind = item.route.subscription.to.kind
        self._count(item.owner.namespace, kind, "failed")
        tries = f"after {item.attempt} attempt{'s' if item.attempt > 1 else ''}"
        message = (
            f"{item.notice.trigger} notification ({kind}, {item.route.field}) not delivered {tries}: {reason}"
        )
        log.warning("%s/%s: %s", item.owner.namespace, item.owner.name, message)
        if self._events is not None:
            self._events.emit(item.owner, EventType.WARNING, "NotificationFailed", message)

    def _deliver(self, item: _Delivery) -> None:
        to = item.route.subscription.to
        namespace = self._namespace if item.route.platform else item.owner.namespace
        data = self._secrets.read(namespace, to.secret_ref.name)
        where = f"Secret {namespace}/{to.secret_ref.name}"
        url = data.get(to.secret_ref.key, "").strip()
        if not url:
            raise Failure(f"{where} has no key {to.secret_ref.key!r} holding the URL", retryable=False)
        if not item.route.platform and self._gate is not None:
            refused = self._gate.notification_refusal(item.owner.namespace, item.owner.name, item.spec, url)
            if refused is not None:
                raise Failure(f"the URL in {where}: {refused}", retryable=False)
        body, content_type = render(to.kind, item.notice, item.route.subscription.template)
        headers = {"Content-Type": content_type, "User-Agent": "kdap-modeldeploy"}
        if to.token_key is not None:
            token = data.get(to.token_key)
            if not token:
                raise Failure(f"{where} has no key {to.token_key!r} (tokenKey)", retryable=False)
            headers["Authorization"] = f"Bearer {token.strip()}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            self._post(request, self._timeout)
        except urllib.error.HTTPError as exc:
            # exc.url and str(exc) may hold the URL (or a redirect's target with it): only status and reason.
            if 300 <= exc.code < 400:
                raise Failure(
                    f"the receiver answered HTTP {exc.code} (a redirect, not followed)", False
                ) from None
            after = retry_after(exc.headers.get("Retry-After") if exc.headers else None, self._clock())
            retryable = exc.code >= 500 or exc.code in _RETRYABLE
            raise Failure(f"the receiver answered HTTP {exc.code}", retryable, after) from None
        except (urllib.error.URLError, OSError) as exc:
            cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise Failure(f"cannot reach the receiver ({type(cause).__name__}: {cause})") from None


class KubeSecrets:
    """Secret reads through the Kubernetes API (RBAC: the modeldeploy-notification-secrets role)."""

    def __init__(self, api: object) -> None:
        self._api = api

    def read(self, namespace: str, name: str) -> Mapping[str, str]:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            secret = client.CoreV1Api(self._api).read_namespaced_secret(name, namespace)
        except ApiException as exc:
            # 404: no such Secret; 403: no RoleBinding to modeldeploy-notification-secrets there. Either may
            # be fixed while the backoff runs, so it is retried.
            raise Failure(f"cannot read Secret {namespace}/{name}: HTTP {exc.status} {exc.reason}") from None
        return {k: base64.b64decode(v).decode(errors="replace") for k, v in (secret.data or {}).items()}
