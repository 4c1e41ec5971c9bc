"""ServerlessBackend: the serving-backend protocol for one adapter of an Azure ML serverless endpoint.

A revision is one version of the adapter (``model.registry``). The endpoint (infra's: the base model, pay
per token) serves every version at once, so "deploying" a revision means checking the endpoint serves and
the adapter version is registered, then listing it in the adapter's route table with weight 0; traffic is
that table's weights. The table is the API Management named value ``platform.adapter_routes_name`` that
the LLM API's policy reads. Nothing lives in memory: a restarted operator reads the table again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from azure.core.exceptions import ResourceNotFoundError

from modeldeploy.api import platform
from modeldeploy.api.serverless import ServerlessTarget, adapter_version, routed_adapter_id
from modeldeploy.backends.azureml.apim import NamedValue
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.operation import provisioning
from modeldeploy.backends.azureml.registry import ModelOps
from modeldeploy.ports import BackendError, Owner, RevisionRequest, ScoringAddress
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit

T = TypeVar("T")
_SERVING = "succeeded"
_FAILED = ("failed", "canceled", "deleting")


class ServerlessEndpointOps(Protocol):
    """``MLClient.serverless_endpoints``, or ``MLClient.online_endpoints`` for a managed multi-LoRA endpoint:
    both answer ``get(name)`` with an entity carrying ``provisioning_state``."""

    def get(self, name: str) -> Any: ...


class NamedValues(Protocol):
    """An API Management instance's named values (``apim.ApimNamedValues``)."""

    def get(self, name: str) -> NamedValue | None: ...

    def put(self, name: str, value: str, etag: str | None) -> None: ...


@dataclass
class ServerlessBackend:
    endpoints: ServerlessEndpointOps
    models: Callable[[str | None], ModelOps]  # the registry's model operations (None: the workspace's)
    routes: NamedValues
    target: ServerlessTarget
    guard: Guard = field(default_factory=Guard)

    @property
    def table(self) -> str:
        return platform.adapter_routes_name(self.target.endpoint_name, self.target.adapter)

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        return self.guard.call(f"{self.target.workspace}/{self.target.endpoint_name}", action, fn)

    # --- the route table -----------------------------------------------------------------------------
    def _read(self, owner: Owner) -> tuple[NamedValue, list[platform.Route], platform.Route | None]:
        got = self._call(f"get named value {self.table}", lambda: self.routes.get(self.table))
        gw = self.target.gateway
        if got is None:
            raise BackendError(
                "GatewayRouteMissing",
                f"API Management {gw.service} has no named value {self.table}: declare adapter "
                f"{self.target.adapter} of endpoint {self.target.endpoint_name} in the platform "
                "(kdap-platform:serverless.adapters) so its LLM API routes it",
                retryable=False,
            )
        try:
            holder, live, mirror = platform.decode_routes(got.value)
        except ValueError as exc:
            raise BackendError("GatewayRouteUnreadable", f"{self.table}: {exc}", retryable=False) from exc
        mine = f"{owner.namespace}/{owner.name}"
        if holder is not None and holder != mine:
            raise BackendError(
                "NotOwned",
                f"adapter {self.target.adapter} on {self.target.endpoint_name} is routed by {holder}, not "
                f"{mine}; one ModelDeployment rolls out an adapter",
                retryable=False,
            )
        return got, live, mirror

    def _write(self, owner: Owner, etag: str | None, live: list[platform.Route], mirror: Any) -> None:
        value = platform.encode_routes(f"{owner.namespace}/{owner.name}", live, mirror)
        self._call(f"put named value {self.table}", lambda: self.routes.put(self.table, value, etag))

    # --- the endpoint and the adapter ----------------------------------------------------------------
    def _endpoint_state(self, name: str) -> RevisionState | None:
        """None when the endpoint serves; else the revision's state while it does not."""
        ep, kind = self.target.endpoint_name, self.target.endpoint_kind
        try:
            endpoint = self._call(f"get {kind} endpoint {ep}", lambda: self.endpoints.get(ep))
        except ResourceNotFoundError:
            return RevisionState(
                name,
                Readiness.FAILED,
                reason="EndpointNotFound",
                message=f"{kind} endpoint {ep} does not exist in workspace {self.target.workspace}",
            )
        # The SDK answers an online endpoint's state as a str enum, whose str() is its class-qualified name.
        state = provisioning(endpoint).lower()
        if state == _SERVING:
            return None
        readiness = Readiness.FAILED if state in _FAILED else Readiness.PROGRESSING
        return RevisionState(
            name, readiness, reason="EndpointNotServing", message=f"{kind} endpoint {ep} is {state}"
        )

    def _adapter_missing(self, name: str, model_ref: str) -> RevisionState | None:
        registry, model, version = adapter_version(model_ref)
        ops = self.models(registry)
        try:
            self._call(f"get model {model}:{version}", lambda: ops.get(model, version))
        except ResourceNotFoundError:
            where = f"registry {registry}" if registry else f"workspace {self.target.workspace}"
            return RevisionState(
                name,
                Readiness.FAILED,
                reason="AdapterNotFound",
                message=f"adapter {model}:{version} is not registered in {where} (model.registry)",
            )
        return None

    # --- ServingBackend ------------------------------------------------------------------------------
    def ensure_revision(self, owner: Owner, revision: RevisionRequest) -> RevisionState:
        model_ref = revision.spec.model.registry
        if model_ref is None:  # the spec's CEL rule requires it; a revision without one cannot be routed
            raise BackendError("InvalidSpec", "spec.model.registry is required", retryable=False)
        blocked = self._endpoint_state(revision.name) or self._adapter_missing(revision.name, model_ref)
        if blocked is not None:
            return blocked
        got, live, mirror = self._read(owner)
        if all(r != revision.name for r, _, _ in live):
            self._write(owner, got.etag, [*live, (revision.name, routed_adapter_id(model_ref), 0)], mirror)
        return RevisionState(revision.name, Readiness.READY, 1, 1)

    def revision_state(self, owner: Owner, name: str) -> RevisionState:
        _, live, _ = self._read(owner)
        if all(r != name for r, _, _ in live):
            return RevisionState(name, Readiness.MISSING)
        return self._endpoint_state(name) or RevisionState(name, Readiness.READY, 1, 1)

    def set_traffic(self, owner: Owner, split: TrafficSplit) -> None:
        got, live, _ = self._read(owner)
        ids = {r: a for r, a, _ in live}
        wanted = {*split.weights, *([split.mirror] if split.mirror is not None else [])}
        unknown = sorted(wanted - set(ids))
        if unknown:
            raise BackendError(
                "RevisionNotRouted", f"revisions {unknown} are not in {self.table}: ensure them first"
            )
        routes = [(r, a, int(split.weights.get(r, 0))) for r, a in ids.items()]
        mirror = None if split.mirror is None else (split.mirror, ids[split.mirror], split.mirror_percent)
        self._write(owner, got.etag, routes, mirror)

    def observed_traffic(self, owner: Owner) -> TrafficSplit | None:
        _, live, mirror = self._read(owner)
        weights = {r: w for r, _, w in live if w > 0}
        if not weights:
            return None
        if mirror is None:
            return TrafficSplit(weights)
        return TrafficSplit(weights, mirror[0], mirror[2])

    def delete_revision(self, owner: Owner, name: str) -> None:
        got, live, mirror = self._read(owner)
        if any(r == name and w > 0 for r, _, w in live):
            raise BackendError("RevisionHasTraffic", f"revision {name} still takes traffic in {self.table}")
        kept = [route for route in live if route[0] != name]
        if kept != live or (mirror is not None and mirror[0] == name):
            self._write(owner, got.etag, kept, None if mirror is None or mirror[0] == name else mirror)

    def scoring_address(self, owner: Owner, name: str) -> ScoringAddress:
        raise BackendError(
            "NotAddressable",
            "a serverless adapter version is reached only through the gateway's split",
            retryable=False,
        )

    def delete_all(self, owner: Owner) -> None:
        """Unroute the adapter: the gateway then passes adapter_id through unchanged. The endpoint and the
        named value are infra's and stay."""
        try:
            got, live, mirror = self._read(owner)
        except BackendError as exc:
            if exc.reason in ("GatewayRouteMissing", "NotOwned"):
                return
            raise
        if live or mirror is not None:
            value = platform.ADAPTER_ROUTES_UNROUTED
            self._call(f"put named value {self.table}", lambda: self.routes.put(self.table, value, got.etag))
