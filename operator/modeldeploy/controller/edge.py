"""The promoted model version in API Management: the named value infra creates for each declared model.

API Management keys its cached predictions (the fallback served when the endpoint fails) by model and by
this named value, so until it names the version now serving, a cached answer of the previous version could
be served as the new one's. After each reconcile the operator converges it: when the stable revision's model
version differs from ``status.edgeVersion``, it reads the named value, writes the version if it differs, and
records it. Which named value is the platform's to say (the handoff entry for this ``namespace/name``), never
the spec's. A failure is an Event and a retry; it never holds a rollout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from modeldeploy.api.handoff import Handoff
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import ModelDeploymentStatus
from modeldeploy.ports import EventSink, Owner
from modeldeploy.rollout.actions import EventType

log = logging.getLogger(__name__)
EDGE_RETRY = 30.0
TIMEOUT = 60.0


class NamedValues(Protocol):
    """azure-mgmt-apimanagement's ``NamedValueOperations``, the two calls used."""

    def get(self, resource_group_name: str, service_name: str, named_value_id: str) -> Any: ...

    def begin_create_or_update(
        self, resource_group_name: str, service_name: str, named_value_id: str, parameters: Any
    ) -> Any: ...


def sdk_named_values(subscription_id: str) -> NamedValues:
    """The real client, loaded on first use (only an Azure ML target behind API Management needs it)."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.apimanagement import ApiManagementClient

    ops: NamedValues = ApiManagementClient(DefaultAzureCredential(), subscription_id).named_value
    return ops


class EdgeVersions:
    def __init__(self, clients: Callable[[str], NamedValues] = sdk_named_values) -> None:
        self._clients = clients
        self._by_subscription: dict[str, NamedValues] = {}

    def publish(self, subscription: str, where: tuple[str, str, str], version: str) -> bool:
        """Make the named value say ``version``; False when it already did (read before write)."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.mgmt.apimanagement.models import NamedValueCreateContract

        ops = self._by_subscription.get(subscription)
        if ops is None:
            ops = self._by_subscription[subscription] = self._clients(subscription)
        rg, service, named = where
        try:
            if ops.get(rg, service, named).value == version:
                return False
        except ResourceNotFoundError:
            pass  # infra has not created it (yet): creating it is what infra would do
        contract = NamedValueCreateContract(display_name=named, value=version, secret=False)
        ops.begin_create_or_update(rg, service, named, contract).result(timeout=TIMEOUT)
        return True


def sync_edge_version(
    edge: EdgeVersions | None,
    handoff: Handoff | None,
    events: EventSink,
    owner: Owner,
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus,
) -> tuple[ModelDeploymentStatus | None, float | None]:
    """(the status to write, a requeue-after): both None when there is nothing to do."""
    stable, target = status.stable, spec.target.azureml
    if edge is None or handoff is None or target is None or stable is None or not stable.model_version:
        return None, None
    version = stable.model_version
    where = handoff.version_named_value(owner.namespace, owner.name)
    if where is None or status.edge_version == version:
        return None, None
    try:
        changed = edge.publish(target.subscription_id, where, version)
    except Exception as exc:
        message = f"API Management named value {where[2]} (service {where[1]}) not set to {version}: {exc}"
        log.warning("%s/%s: %s", owner.namespace, owner.name, message)
        events.emit(owner, EventType.WARNING, "EdgeVersionFailed", message)
        return None, EDGE_RETRY
    if changed:
        message = f"API Management named value {where[2]} now says {version}: cached answers key on it"
        events.emit(owner, EventType.NORMAL, "EdgeVersionSet", message)
    return status.model_copy(update={"edge_version": version}), None
