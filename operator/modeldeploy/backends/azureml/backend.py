"""AzureMLBackend: the serving-backend protocol on an Azure ML online endpoint.

One instance serves one endpoint (``target.azureml``); each revision is one online deployment under it, and
traffic is the endpoint's ``traffic`` / ``mirror_traffic``. Nothing is remembered in memory that a restart
would need: ownership, revision names, spec hashes and operation start times are tags on the Azure resources.
The only in-memory state is the pollers of operations this process started, used for precise error messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from azure.ai.ml.entities import KubernetesOnlineEndpoint
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from modeldeploy.api import platform
from modeldeploy.api.azure_names import (
    TAG_OWNER,
    TAG_REVISION,
    TAG_SPEC_HASH,
    TAG_STARTED_AT,
    deployment_name,
)
from modeldeploy.api.spec import AzureMLTarget
from modeldeploy.backends.azureml import build
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.operation import IN_PROGRESS, Operation, provisioning
from modeldeploy.backends.azureml.retry import error_code
from modeldeploy.backends.azureml.scoring import scoring_address
from modeldeploy.backends.azureml.sdk import (
    AutoscaleOps,
    DiagnosticSettingsOps,
    OnlineDeploymentOps,
    OnlineEndpointOps,
    Poller,
)
from modeldeploy.backends.azureml.settings import DeploymentSettings
from modeldeploy.backends.azureml.traffic import canonical, validate
from modeldeploy.ports import BackendError, Owner, RevisionRequest, ScoringAddress
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit

T = TypeVar("T")
LOG_LINES = 20


@dataclass(frozen=True)
class AzureMLClients:
    """``MLClient.online_endpoints``, ``MLClient.online_deployments``, the monitor client's autoscale and
    the deployments' diagnostic settings."""

    online_endpoints: OnlineEndpointOps
    online_deployments: OnlineDeploymentOps
    autoscale_settings: AutoscaleOps
    diagnostic_settings: DiagnosticSettingsOps


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AzureMLBackend:
    clients: AzureMLClients
    target: AzureMLTarget
    guard: Guard = field(default_factory=Guard)
    now: Callable[[], datetime] = _utcnow
    provisioning_timeout: timedelta = timedelta(minutes=45)
    _pollers: dict[str, Poller] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = self.clients
        self.settings = DeploymentSettings(
            c.autoscale_settings, c.diagnostic_settings, self.target, self._call
        )

    # --- plumbing ------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.target.endpoint_name

    def _call(self, action: str, fn: Callable[[], T]) -> T:
        return self.guard.call(f"{self.target.workspace}/{self.endpoint}", action, fn)

    def _get_endpoint(self) -> Any | None:
        try:
            return self._call(
                f"get endpoint {self.endpoint}", lambda: self.clients.online_endpoints.get(self.endpoint)
            )
        except ResourceNotFoundError:
            return None

    def _get_deployment(self, name: str) -> Any | None:
        ops = self.clients.online_deployments
        try:
            return self._call(f"get deployment {name}", lambda: ops.get(name, self.endpoint))
        except ResourceNotFoundError:
            return None

    def _deployments(self) -> list[Any]:
        ops = self.clients.online_deployments
        return self._call(f"list deployments of {self.endpoint}", lambda: list(ops.list(self.endpoint)))

    def _check_owner(self, entity: Any, owner: Owner, what: str) -> None:
        found = (getattr(entity, "tags", None) or {}).get(TAG_OWNER)
        expected = f"{owner.namespace}/{owner.name}"
        if found != expected:
            raise BackendError(
                reason="NotOwned",
                message=(
                    f"{what} is managed by {found or 'someone else (no kdap-owner tag)'}, not {expected}; "
                    "choose another target.azureml.endpointName or delete the existing resource"
                ),
                retryable=False,
            )

    def _target_of(self, revision: RevisionRequest) -> AzureMLTarget:
        target = build.azureml_target(revision.spec)
        mine = (self.target.subscription_id, self.target.resource_group, self.target.workspace, self.endpoint)
        theirs = (target.subscription_id, target.resource_group, target.workspace, target.endpoint_name)
        if mine != theirs:
            raise build.invalid(
                "spec.target.azureml", f"revision targets {theirs}, this backend serves {mine}"
            )
        return target

    # --- revisions -----------------------------------------------------------------------------------
    def ensure_revision(self, owner: Owner, revision: RevisionRequest) -> RevisionState:
        target = self._target_of(revision)
        endpoint = self._ensure_endpoint(owner, target)
        blocked = self._endpoint_blocks(revision.name, endpoint)
        if blocked is not None:
            return blocked
        dep = deployment_name(revision.name)
        plan = build.plan_deployment(revision.spec, revision.name, dep, revision.min_replicas)
        current = self._get_deployment(dep)
        if current is not None:
            self._check_owner(current, owner, f"deployment {dep} on endpoint {self.endpoint}")
            if (current.tags or {}).get(TAG_REVISION) != revision.name:
                raise BackendError(
                    "NameCollision", f"deployment {dep} belongs to another revision", retryable=False
                )
        if current is None or (
            provisioning(current).lower() not in IN_PROGRESS
            and (current.tags or {}).get(TAG_SPEC_HASH) != plan.fingerprint()
        ):
            return self._start(owner, plan, "create" if current is None else "update")
        state = self._state_of(revision.name, current)
        if state.readiness is Readiness.READY:
            self.settings.ensure_autoscale(owner, revision, plan, endpoint, current)
            self.settings.ensure_diagnostics(plan, current, target.log_analytics_workspace_id)
        return state

    def revision_state(self, owner: Owner, name: str) -> RevisionState:
        if self._get_endpoint() is None:
            return RevisionState(name, Readiness.MISSING, reason="EndpointMissing")
        current = self._get_deployment(deployment_name(name))
        if current is None:
            return RevisionState(name, Readiness.MISSING, reason="DeploymentMissing")
        self._check_owner(current, owner, f"deployment {deployment_name(name)}")
        return self._state_of(name, current)

    def _ensure_endpoint(self, owner: Owner, target: AzureMLTarget) -> Any:
        endpoint = self._get_endpoint()
        if endpoint is None:
            entity = build.endpoint_entity(target, owner)
            self._call(
                f"create endpoint {self.endpoint}",
                lambda: self.clients.online_endpoints.begin_create_or_update(entity),
            )
            endpoint = self._get_endpoint()
            if endpoint is None:
                raise BackendError(
                    "EndpointNotVisible", f"endpoint {self.endpoint} was created but is not visible yet"
                )
            return endpoint
        self._check_owner(endpoint, owner, f"endpoint {self.endpoint}")
        if isinstance(endpoint, KubernetesOnlineEndpoint) != (target.endpoint_kind == "kubernetes"):
            raise build.invalid(
                "spec.target.azureml.endpointKind",
                f"endpoint {self.endpoint} exists with another kind; "
                "create a new ModelDeployment to change it",
            )
        terminal = provisioning(endpoint).lower() not in IN_PROGRESS
        auth = target.effective_auth_mode()
        if str(endpoint.auth_mode).lower() != auth and platform.is_platform_owned(endpoint.tags):
            # The platform's endpoint: Pulumi would set its auth mode back on the next `up`.
            raise build.invalid(
                "spec.target.azureml.authMode",
                f"endpoint {self.endpoint} belongs to platform stack "
                f"{endpoint.tags[platform.TAG_PLATFORM]} with auth mode {endpoint.auth_mode}; "
                "leave authMode out or set it to that",
            )
        if terminal and str(endpoint.auth_mode).lower() != auth:
            endpoint.auth_mode = auth  # traffic and mirror ride along unchanged
            self._call(
                f"update endpoint {self.endpoint}",
                lambda: self.clients.online_endpoints.begin_create_or_update(endpoint),
            )
            endpoint = self._get_endpoint()
        return endpoint

    def _endpoint_blocks(self, revision: str, endpoint: Any) -> RevisionState | None:
        state = provisioning(endpoint)
        if state.lower() in IN_PROGRESS:
            return RevisionState(
                revision,
                Readiness.PROGRESSING,
                reason="EndpointProvisioning",
                message=f"endpoint {self.endpoint} is {state}",
            )
        if state.lower() in ("failed", "canceled"):
            return RevisionState(
                revision,
                Readiness.FAILED,
                reason="EndpointProvisioningFailed",
                message=f"endpoint {self.endpoint} is {state}; see the endpoint's activity log",
            )
        return None

    def _start(self, owner: Owner, plan: build.DeploymentPlan, kind: str) -> RevisionState:
        started = self.now()
        tags = build.owner_tags(owner) | {
            TAG_REVISION: plan.revision,
            TAG_SPEC_HASH: plan.fingerprint(),
            TAG_STARTED_AT: started.isoformat(),
        }
        entity = build.deployment_entity(plan, tags)
        ops = self.clients.online_deployments
        poller = self._call(
            f"{kind} deployment {plan.deployment}", lambda: ops.begin_create_or_update(entity)
        )
        self._pollers[plan.deployment] = poller
        operation = Operation(kind, plan.deployment, plan.fingerprint(), started)
        return RevisionState(
            plan.revision,
            Readiness.PROGRESSING,
            desired_replicas=plan.instance_count,
            reason="Provisioning",
            message=f"{kind} of deployment {plan.deployment} on endpoint {self.endpoint} started",
            operation=operation.to_record(),
        )

    def _state_of(self, revision: str, deployment: Any) -> RevisionState:
        state = provisioning(deployment)
        desired = int(deployment.instance_count or 0)
        if state.lower() == "succeeded":
            return RevisionState(revision, Readiness.READY, ready_replicas=desired, desired_replicas=desired)
        if state.lower() in ("failed", "canceled"):
            reason, message = self._failure(deployment.name)
            return RevisionState(
                revision, Readiness.FAILED, desired_replicas=desired, reason=reason, message=message
            )
        operation = Operation.from_tags(deployment.name, deployment.tags or {}, state)
        record = operation.to_record() if operation else {}
        if operation is not None and operation.overdue(self.now(), self.provisioning_timeout):
            minutes = int((self.now() - operation.started_at).total_seconds() // 60)
            return RevisionState(
                revision,
                Readiness.FAILED,
                desired_replicas=desired,
                reason="ProvisioningTimedOut",
                message=(
                    f"deployment {deployment.name} has been {state} for {minutes}m (limit "
                    f"{int(self.provisioning_timeout.total_seconds() // 60)}m); "
                    "check quota and the deployment logs"
                ),
                operation=record,
            )
        return RevisionState(
            revision,
            Readiness.PROGRESSING,
            desired_replicas=desired,
            reason="Provisioning",
            message=f"deployment {deployment.name} is {state}",
            operation=record,
        )

    def _failure(self, dep: str) -> tuple[str, str]:
        """The Azure error code and message of a failed deployment: our poller's, else the container logs."""
        poller = self._pollers.get(dep)
        if poller is not None and poller.done():
            try:
                poller.result(timeout=0)
            except HttpResponseError as error:
                code, message = error_code(error)
                return code, f"deployment {dep} failed: {message}"
        try:
            ops = self.clients.online_deployments
            logs = self._call(f"get logs of {dep}", lambda: ops.get_logs(dep, self.endpoint, LOG_LINES))
        except (BackendError, AzureError):
            logs = ""
        tail = " | ".join(line for line in logs.splitlines()[-3:] if line.strip())
        return "DeploymentProvisioningFailed", f"deployment {dep} failed" + (
            f"; last log lines: {tail}" if tail else ""
        )

    # --- traffic -------------------------------------------------------------------------------------
    def set_traffic(self, owner: Owner, split: TrafficSplit) -> None:
        live = {deployment_name(rev): w for rev, w in split.weights.items()}
        mirror = {deployment_name(split.mirror): split.mirror_percent} if split.mirror else {}
        desired = canonical(live, mirror)
        endpoint = self._get_endpoint()
        if endpoint is None:
            raise BackendError(
                "EndpointMissing", f"endpoint {self.endpoint} does not exist; ensure a revision first"
            )
        self._check_owner(endpoint, owner, f"endpoint {self.endpoint}")
        deployments = {d.name: d for d in self._deployments()}
        validate(desired, kubernetes=isinstance(endpoint, KubernetesOnlineEndpoint), known=set(deployments))
        if canonical(endpoint.traffic, endpoint.mirror_traffic) == desired:
            return  # compared ourselves: endpoint == ignores mirror_traffic
        not_ready = sorted(
            n for n in [*desired.live, *desired.mirror] if provisioning(deployments[n]) != "Succeeded"
        )
        if not_ready:
            raise BackendError(
                "DeploymentNotReady", f"deployments {not_ready} are not Succeeded yet; retry when ready"
            )
        if provisioning(endpoint).lower() in IN_PROGRESS:
            raise BackendError(
                "EndpointBusy", f"endpoint {self.endpoint} is {provisioning(endpoint)}; retry shortly"
            )
        endpoint.traffic, endpoint.mirror_traffic = dict(desired.live), dict(desired.mirror)
        self._call(
            f"set traffic on {self.endpoint}",
            lambda: self.clients.online_endpoints.begin_create_or_update(endpoint),
        )

    def observed_traffic(self, owner: Owner) -> TrafficSplit | None:
        endpoint = self._get_endpoint()
        if endpoint is None:
            return None
        now = canonical(endpoint.traffic, endpoint.mirror_traffic)
        if not now.live and not now.mirror:
            return None
        revisions = {d.name: (d.tags or {}).get(TAG_REVISION, d.name) for d in self._deployments()}
        weights = {revisions.get(n, n): w for n, w in now.live.items()}
        mirror, percent = next(iter(now.mirror.items()), (None, 0))
        return TrafficSplit(weights, revisions.get(mirror, mirror) if mirror else None, percent)

    def scoring_address(self, owner: Owner, name: str) -> ScoringAddress:
        endpoint = self._get_endpoint()
        if endpoint is None:
            raise BackendError("EndpointMissing", f"endpoint {self.endpoint} does not exist")
        keys = self._call("get keys", lambda: self.clients.online_endpoints.get_keys(self.endpoint))
        return scoring_address(endpoint, keys, deployment_name(name))

    # --- deletion ------------------------------------------------------------------------------------
    def delete_revision(self, owner: Owner, name: str) -> None:
        dep = deployment_name(name)
        endpoint = self._get_endpoint()
        if endpoint is None:
            return
        self.settings.delete_autoscale(dep)
        current = self._get_deployment(dep)
        if current is None:
            return
        self._check_owner(current, owner, f"deployment {dep}")
        routed = canonical(endpoint.traffic, endpoint.mirror_traffic)
        if dep in routed.live or dep in routed.mirror:
            raise BackendError(
                "RevisionHasTraffic",
                f"revision {name} still receives traffic; route it elsewhere before deleting",
                retryable=False,
            )
        self.settings.delete_diagnostics(current)
        ops = self.clients.online_deployments
        self._call(f"delete deployment {dep}", lambda: ops.begin_delete(dep, self.endpoint))
        self._pollers.pop(dep, None)

    def delete_all(self, owner: Owner) -> None:
        endpoint = self._get_endpoint()
        if endpoint is None:
            return
        tags: Mapping[str, str] = endpoint.tags or {}
        if tags.get(TAG_OWNER) != f"{owner.namespace}/{owner.name}":
            return  # not ours: the finalizer must never delete someone else's endpoint
        if provisioning(endpoint).lower() == "deleting":
            return
        if platform.is_platform_owned(tags):
            self._empty_platform_endpoint(endpoint, owner)
            return
        for deployment in self._deployments():
            self.settings.delete_autoscale(
                deployment.name
            )  # Azure leaves autoscale settings behind otherwise
            self.settings.delete_diagnostics(deployment)  # and diagnostic settings
        self._call(
            f"delete endpoint {self.endpoint}",
            lambda: self.clients.online_endpoints.begin_delete(self.endpoint),
        )
        self._pollers.clear()

    def _empty_platform_endpoint(self, endpoint: Any, owner: Owner) -> None:
        """The platform's endpoint stays (its API route and alerts point at it); what we created in it goes:
        traffic first (Azure refuses to delete a deployment that has some), then our deployments."""
        if any((endpoint.traffic or {}).values()) or any((endpoint.mirror_traffic or {}).values()):
            endpoint.traffic, endpoint.mirror_traffic = {}, {}
            self._call(
                f"clear traffic on {self.endpoint}",
                lambda: self.clients.online_endpoints.begin_create_or_update(endpoint),
            )
        ops = self.clients.online_deployments
        mine = f"{owner.namespace}/{owner.name}"
        for deployment in self._deployments():
            if (deployment.tags or {}).get(TAG_OWNER) != mine:
                continue
            self.settings.delete_autoscale(deployment.name)
            self.settings.delete_diagnostics(deployment)
            name = str(deployment.name)
            self._call(f"delete deployment {name}", partial(ops.begin_delete, name, self.endpoint))
        self._pollers.clear()
