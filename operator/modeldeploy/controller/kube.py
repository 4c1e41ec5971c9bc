"""The ports on a real cluster: the status subresource with optimistic concurrency, and core/v1 Events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from modeldeploy.api import GROUP, PLURAL, VERSION
from modeldeploy.api.status import ModelDeploymentStatus
from modeldeploy.ports import BackendError, Conflict, Gone, Owner
from modeldeploy.rollout.actions import EventType

log = logging.getLogger(__name__)
COMPONENT = "modeldeploy"
# The same name kopf used for the operator's finalizer before the work queue took over deletion, so objects
# created by an older operator are released by this one.
FINALIZER = f"{GROUP}/finalizer"


class KubeStatusStore:
    def __init__(self, api: client.ApiClient) -> None:
        self._api = client.CustomObjectsApi(api)

    def write_status(
        self,
        owner: Owner,
        resource_version: str,
        status: ModelDeploymentStatus,
        previous: ModelDeploymentStatus,
    ) -> str:
        body = {"metadata": {"resourceVersion": resource_version}, "status": status.to_merge_patch(previous)}
        return _cas_patch(
            self._api.patch_namespaced_custom_object_status,
            owner,
            resource_version,
            body,
            "StatusWriteFailed",
            "status",
        )

    def confirm_current(self, owner: Owner, resource_version: str) -> None:
        try:
            out = self._api.get_namespaced_custom_object(GROUP, VERSION, owner.namespace, PLURAL, owner.name)
        except ApiException as exc:
            _raise_conflict_or_gone(exc, owner, resource_version)
            raise BackendError("StatusReadFailed", f"{owner.namespace}/{owner.name}: {exc.reason}") from exc
        current = str(out["metadata"]["resourceVersion"])  # type: ignore[index]
        if current != resource_version:
            raise Conflict(
                f"{owner.namespace}/{owner.name} is at resourceVersion {current}, not {resource_version}"
            )


def _cas_patch(
    patch: Callable[..., Any],
    owner: Owner,
    resource_version: str,
    body: dict[str, Any],
    failure: str,
    what: str,
) -> str:
    """A merge patch carrying the resourceVersion read is a compare-and-swap: 409 (Conflict) when someone
    wrote in between, 404 (Gone) when the object was deleted. Returns the new resourceVersion."""
    try:
        out = patch(
            GROUP,
            VERSION,
            owner.namespace,
            PLURAL,
            owner.name,
            body,
            _content_type="application/merge-patch+json",
        )
    except ApiException as exc:
        _raise_conflict_or_gone(exc, owner, resource_version)
        raise BackendError(failure, f"{what} of {owner.namespace}/{owner.name}: {exc.reason}") from exc
    return str(out["metadata"]["resourceVersion"])


def _raise_conflict_or_gone(exc: ApiException, owner: Owner, resource_version: str) -> None:
    if exc.status == 409:
        raise Conflict(
            f"{owner.namespace}/{owner.name} changed since resourceVersion {resource_version}"
        ) from exc
    if exc.status == 404:
        raise Gone(f"{owner.namespace}/{owner.name} no longer exists") from exc


class KubeFinalizers:
    """The finalizer list through a merge patch carrying the resourceVersion read: a compare-and-swap, so a
    finalizer another controller added in between is never dropped."""

    def __init__(self, api: client.ApiClient, finalizer: str = FINALIZER) -> None:
        self._api = client.CustomObjectsApi(api)
        self.name = finalizer

    def ensure(self, owner: Owner, resource_version: str, finalizers: list[str]) -> str:
        if self.name in finalizers:
            return resource_version
        return self._patch(owner, resource_version, [*finalizers, self.name])

    def release(self, owner: Owner, resource_version: str, finalizers: list[str]) -> None:
        if self.name in finalizers:
            self._patch(owner, resource_version, [f for f in finalizers if f != self.name])

    def _patch(self, owner: Owner, resource_version: str, finalizers: list[str]) -> str:
        body = {"metadata": {"resourceVersion": resource_version, "finalizers": finalizers}}
        return _cas_patch(
            self._api.patch_namespaced_custom_object,
            owner,
            resource_version,
            body,
            "FinalizerWriteFailed",
            "finalizer",
        )


class KubeEventSink:
    def __init__(self, dyn: DynamicClient) -> None:
        # The dynamic client sends the plain body: the typed client validated and rebuilt model objects
        # both ways, which cost more CPU than the request itself.
        self._events = dyn.resources.get(api_version="v1", kind="Event")

    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        # A plain body: building the client's model objects cost more CPU than sending the Event.
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{owner.name}.{uuid.uuid4().hex[:12]}", "namespace": owner.namespace},
            "involvedObject": {
                "apiVersion": owner.api_version,
                "kind": owner.kind,
                "name": owner.name,
                "namespace": owner.namespace,
                "uid": owner.uid,
            },
            "type": type.value,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "eventTime": now,
            "action": reason,
            "count": 1,
        }
        try:
            self._events.create(body=event, namespace=owner.namespace)
        except ApiException as exc:  # an event is never worth failing a reconcile for
            log.warning(
                "could not post event %s for %s/%s: %s", reason, owner.namespace, owner.name, exc.reason
            )
