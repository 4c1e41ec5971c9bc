"""The ports on a real cluster: the status subresource with optimistic concurrency, and core/v1 Events."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from modeldeploy.api import GROUP, PLURAL, VERSION
from modeldeploy.api.status import ModelDeploymentStatus
from modeldeploy.backends.base import BackendError, Owner
from modeldeploy.controller.ports import Conflict
from modeldeploy.rollout.actions import EventType

log = logging.getLogger(__name__)
COMPONENT = "modeldeploy"


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
        # A merge patch carrying resourceVersion is a compare-and-swap: 409 when someone wrote in between.
        body = {"metadata": {"resourceVersion": resource_version}, "status": status.to_merge_patch(previous)}
        try:
            out = self._api.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                owner.namespace,
                PLURAL,
                owner.name,
                body,
                _content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            if exc.status == 409:
                raise Conflict(
                    f"{owner.namespace}/{owner.name} changed since resourceVersion {resource_version}"
                ) from exc
            raise BackendError(
                "StatusWriteFailed", f"status of {owner.namespace}/{owner.name}: {exc.reason}"
            ) from exc
        meta: dict[str, object] = out["metadata"]  # type: ignore[index]
        return str(meta["resourceVersion"])

    def confirm_current(self, owner: Owner, resource_version: str) -> None:
        try:
            out = self._api.get_namespaced_custom_object(GROUP, VERSION, owner.namespace, PLURAL, owner.name)
        except ApiException as exc:
            raise BackendError("StatusReadFailed", f"{owner.namespace}/{owner.name}: {exc.reason}") from exc
        current = str(out["metadata"]["resourceVersion"])  # type: ignore[index]
        if current != resource_version:
            raise Conflict(
                f"{owner.namespace}/{owner.name} is at resourceVersion {current}, not {resource_version}"
            )


class KubeEventSink:
    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)

    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None:
        now = datetime.now(UTC)
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                name=f"{owner.name}.{uuid.uuid4().hex[:12]}", namespace=owner.namespace
            ),
            involved_object=client.V1ObjectReference(
                api_version=owner.api_version,
                kind=owner.kind,
                name=owner.name,
                namespace=owner.namespace,
                uid=owner.uid,
            ),
            type=type.value,
            reason=reason,
            message=message[:1024],
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            reporting_instance=COMPONENT,
            first_timestamp=now,
            last_timestamp=now,
            event_time=now,
            action=reason,
            count=1,
        )
        try:
            self._core.create_namespaced_event(owner.namespace, event)
        except ApiException as exc:  # an event is never worth failing a reconcile for
            log.warning(
                "could not post event %s for %s/%s: %s", reason, owner.namespace, owner.name, exc.reason
            )
