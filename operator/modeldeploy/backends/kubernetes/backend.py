"""The Kubernetes serving backend on the dynamic client, with server-side apply as field manager
``modeldeploy``: repeated applies are no-ops, and fields other managers own (HPA replicas) stay theirs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError
from kubernetes.dynamic.resource import Resource

from modeldeploy.backends.kubernetes import manifests as mf
from modeldeploy.backends.kubernetes.cache import ChildCache, Store
from modeldeploy.backends.kubernetes.schedule import Window, effective_min_replicas
from modeldeploy.ports import BackendError, Owner, RevisionRequest, ScoringAddress
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit

FIELD_MANAGER = "modeldeploy"
# Container states that will not heal without a new image or config.
_FATAL_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"}
_CRASH_LOOP_RESTARTS = 3

WorkloadFactory = Callable[[RevisionRequest], tuple[mf.Workload, tuple[Window, ...]]]


class KubernetesBackend:
    def __init__(
        self,
        dyn: DynamicClient,
        route: mf.RouteSpec,
        workload_for: WorkloadFactory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache: ChildCache | None = None,
    ) -> None:
        self._dyn = dyn
        self._route = route
        self._workload_for = workload_for
        self._clock = clock
        # Watch-fed reads when the operator runs (see cache.py); without one every read is a request.
        self._cache = cache

    # ---- resources -------------------------------------------------------------------------------------

    def _res(self, api_version: str, kind: str) -> Resource:
        found: Resource = self._dyn.resources.get(api_version=api_version, kind=kind)
        return found

    @property
    def _deployments(self) -> Resource:
        return self._res("apps/v1", "Deployment")

    @property
    def _services(self) -> Resource:
        return self._res("v1", "Service")

    @property
    def _hpas(self) -> Resource:
        return self._res("autoscaling/v2", "HorizontalPodAutoscaler")

    @property
    def _routes(self) -> Resource:
        try:
            return self._res("gateway.networking.k8s.io/v1", "HTTPRoute")
        except Exception as exc:  # ResourceNotFoundError: the Gateway API is not installed
            raise BackendError(
                "GatewayAPIMissing",
                "the Gateway API (gateway.networking.k8s.io/v1 HTTPRoute) is not installed in this cluster: "
                "install its standard-channel CRDs and a Gateway implementation",
                retryable=False,
            ) from exc

    def _store(self, kind: str) -> Store | None:
        return None if self._cache is None else self._cache.store_for(kind)

    def _apply(self, resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
        try:
            applied = self._dyn.server_side_apply(  # type: ignore[no-untyped-call]
                resource,
                body=body,
                namespace=body["metadata"]["namespace"],
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
        except ApiException as exc:
            raise _backend_error(exc, f"{body['kind']} {body['metadata']['name']}") from exc
        out: dict[str, Any] = applied.to_dict()
        store = self._store(str(body["kind"]))
        if store is not None:  # the answer is the stored object: the next pass must not see the past
            store.upsert(out)
        return out

    def _get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        store = self._store(resource.kind)
        if store is not None:
            cached = store.get(namespace, name)
            if cached is not None:
                return cached
            if store.known_missing(namespace, name):
                return None
        # Not cached: not created yet, or the watch has not delivered it; ask (and keep the answer).
        try:
            found: dict[str, Any] = resource.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            if store is not None:
                store.note_missing(namespace, name)
            return None
        except ApiException as exc:
            raise _backend_error(exc, f"{resource.kind} {name}") from exc
        if store is not None:
            store.upsert(found)
        return found

    def _delete(self, resource: Resource, namespace: str, name: str) -> None:
        try:
            resource.delete(name=name, namespace=namespace, body={"propagationPolicy": "Background"})
        except NotFoundError:
            pass
        except ApiException as exc:
            raise _backend_error(exc, f"{resource.kind} {name}") from exc
        store = self._store(resource.kind)
        if store is not None:
            store.remove(namespace, name)

    # ---- protocol ----------------------------------------------------------------------------------------

    def _check_owned(self, resource: Resource, owner: Owner, name: str) -> bool:
        """True when ``name`` exists and is ``owner``'s; False when it does not exist; NotOwned otherwise."""
        found = self._get(resource, owner.namespace, name)
        if found is None:
            return False
        if not owned_by(found, owner):
            raise not_owned(resource.kind, owner, name)
        return True

    def ensure_revision(self, owner: Owner, revision: RevisionRequest) -> RevisionState:
        # Never take over a Deployment (or, when creating, a Service) someone else made with this name.
        if not self._check_owned(self._deployments, owner, revision.name):
            self._check_owned(self._services, owner, revision.name)
        workload, windows = self._workload_for(revision)
        base_min = revision.min_replicas
        if base_min is None:
            base_min = workload.autoscaling.min_replicas if workload.autoscaling else workload.replicas
        applied = self._apply(self._deployments, mf.deployment(owner, workload))
        self._apply(self._services, mf.service(owner, workload))
        hpa = mf.hpa(owner, workload, effective_min_replicas(base_min, windows, self._clock()))
        if hpa is not None:
            self._apply(self._hpas, hpa)
        # The apply answer is the stored Deployment: judge it directly instead of reading it back.
        return _deployment_state(revision.name, applied, self._pods(owner, revision.name))

    def revision_state(self, owner: Owner, name: str) -> RevisionState:
        dep = self._get(self._deployments, owner.namespace, name)
        if dep is None:
            return RevisionState(name, Readiness.MISSING)
        return _deployment_state(name, dep, self._pods(owner, name))

    def _pods(self, owner: Owner, revision: str) -> list[dict[str, Any]]:
        if self._cache is not None:
            return self._cache.pods.by_index((owner.namespace, revision))
        selector = ",".join(f"{k}={v}" for k, v in mf.labels(owner, revision).items())
        pods = self._res("v1", "Pod").get(namespace=owner.namespace, label_selector=selector)
        return [p.to_dict() for p in pods.items]

    def set_traffic(self, owner: Owner, split: TrafficSplit) -> None:
        routes = self._routes
        gateway_ns = self._route.gateway_namespace or owner.namespace
        gateways = self._res("gateway.networking.k8s.io/v1", "Gateway")
        name = self._route.gateway_name
        seen = self._cache is not None and self._cache.gateway_seen(gateway_ns, name)
        if not seen:
            if self._get(gateways, gateway_ns, name) is None:
                # Retryable: the platform team may create the Gateway after the model team applies.
                raise BackendError(
                    "GatewayNotFound",
                    f"Gateway {gateway_ns}/{name} (spec.target.kubernetes.gateway) does not exist: create "
                    "it or point the spec at an existing Gateway; traffic is unchanged until then",
                )
            if self._cache is not None:
                self._cache.saw_gateway(gateway_ns, name)
        self._check_owned(routes, owner, owner.name)
        self._apply(routes, mf.httproute(owner, self._route, split))

    def observed_traffic(self, owner: Owner) -> TrafficSplit | None:
        route = self._get(self._routes, owner.namespace, owner.name)
        if route is None:
            return None
        if not owned_by(route, owner):
            raise not_owned("HTTPRoute", owner, owner.name)
        return mf.split_from_route(route)

    def scoring_address(self, owner: Owner, name: str) -> ScoringAddress:
        # Every revision has its own Service, named after it: reached by cluster DNS, not through the route,
        # so validation reaches the revision alone while it has no traffic.
        return ScoringAddress(f"http://{name}.{owner.namespace}.svc:{mf.SERVICE_PORT}")

    def delete_revision(self, owner: Owner, name: str) -> None:
        # The name comes from the status, which users who may promote can write: delete only what is ours.
        for res in (self._hpas, self._services, self._deployments):
            found = self._get(res, owner.namespace, name)
            if found is not None and owned_by(found, owner):
                self._delete(res, owner.namespace, name)

    def delete_all(self, owner: Owner) -> None:
        selector = ",".join(f"{k}={v}" for k, v in mf.labels(owner).items())
        for res in (self._hpas, self._services, self._deployments):
            for item in res.get(namespace=owner.namespace, label_selector=selector).items:
                if owned_by(item.to_dict(), owner):  # labels can be copied; owner references name us
                    self._delete(res, owner.namespace, item.metadata.name)
        try:
            routes = self._routes
        except BackendError:
            return
        route = self._get(routes, owner.namespace, owner.name)
        if route is not None and owned_by(route, owner):
            self._delete(routes, owner.namespace, owner.name)


def _deployment_state(name: str, dep: dict[str, Any], pods: list[dict[str, Any]]) -> RevisionState:
    spec, status = dep.get("spec", {}), dep.get("status", {})
    desired = int(spec.get("replicas", 1) or 0)
    ready = int(status.get("readyReplicas", 0) or 0)
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return RevisionState(
                name, Readiness.FAILED, ready, desired, "ProgressDeadlineExceeded", cond.get("message", "")
            )
    for pod in pods:
        failure = pod_failure(pod)
        if failure is not None:
            return RevisionState(name, Readiness.FAILED, ready, desired, *failure)
    current = int(status.get("observedGeneration", 0) or 0) >= int(dep["metadata"].get("generation", 1))
    updated = int(status.get("updatedReplicas", 0) or 0)
    if current and ready >= desired and updated >= desired:
        return RevisionState(name, Readiness.READY, ready, desired)
    return RevisionState(
        name, Readiness.PROGRESSING, ready, desired, "Progressing", f"{ready}/{desired} ready"
    )


def owned_by(obj: Mapping[str, Any], owner: Owner) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("uid") == owner.uid for r in refs)


def not_owned(kind: str, owner: Owner, name: str) -> BackendError:
    return BackendError(
        "NotOwned",
        f"{kind} {owner.namespace}/{name} exists and is not this ModelDeployment's (no owner reference to "
        f"{owner.name}): rename the ModelDeployment or remove that {kind}; the operator never takes over "
        "or deletes what it did not create",
        retryable=False,
    )


def pod_failure(pod: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, message) when a container of ``pod`` will not become ready without a change."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason", "")
        if reason in _FATAL_WAITING or (
            reason == "CrashLoopBackOff" and int(cs.get("restartCount", 0)) >= _CRASH_LOOP_RESTARTS
        ):
            return reason, f"pod {pod['metadata']['name']}: {reason}: {waiting.get('message', '')}".strip(
                ": "
            )
    return None


def _backend_error(exc: ApiException, what: str) -> BackendError:
    status = int(exc.status or 0)
    retryable = status in (0, 409, 429) or status >= 500
    reason = {403: "Forbidden", 404: "NotFound", 409: "Conflict", 422: "Invalid", 429: "TooManyRequests"}.get(
        status, f"HTTP{status}"
    )
    return BackendError(reason, f"{what}: {exc.reason}: {str(exc.body)[:500]}", retryable=retryable)
