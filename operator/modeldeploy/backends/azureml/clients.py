"""Real SDK clients for a target, authenticated with DefaultAzureCredential (workload identity in AKS).

No secret ever comes from the ModelDeployment: the credential chain finds the pod's federated token
(AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE set by the workload identity webhook), or a
developer's `az login` when run locally.

The SDKs' own retries are off (``retry_total=0``): the backend's Guard retries 429/5xx/timeouts itself,
honouring Retry-After, behind a circuit breaker; with the azure-core RetryPolicy on too, one failing call
would become up to (1 + retry_total) x attempts requests. ``MLClient`` passes its keyword arguments to every
generated service client it builds (azure/ai/ml/_ml_client.py: ``ServiceClient...(..., **kwargs)``), whose
configuration builds ``RetryPolicy(**kwargs)``; ``MonitorManagementClient``'s configuration does the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.ai.ml import MLClient
from azure.identity import DefaultAzureCredential
from azure.mgmt.monitor import MonitorManagementClient

from modeldeploy.api.spec import AzureMLTarget, ServerlessTarget
from modeldeploy.backends.azureml.backend import AzureMLBackend, AzureMLClients
from modeldeploy.backends.azureml.batch import AzureMLBatchBackend, AzureMLBatchClients
from modeldeploy.backends.azureml.diagnostics import arm_diagnostic_settings
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.registry import ModelOps
from modeldeploy.backends.azureml.serverless import ServerlessBackend

SDK_RETRIES_OFF: dict[str, Any] = {"retry_total": 0}


def azureml_clients(target: AzureMLTarget, credential: Any, **sdk_kwargs: Any) -> AzureMLClients:
    """The SDK clients of the target's workspace; ``sdk_kwargs`` (e.g. ``transport``) reach every pipeline."""
    kwargs = SDK_RETRIES_OFF | sdk_kwargs
    ml = MLClient(
        credential,
        subscription_id=target.subscription_id,
        resource_group_name=target.resource_group,
        workspace_name=target.workspace,
        **kwargs,
    )
    monitor = MonitorManagementClient(credential, target.subscription_id, **kwargs)
    return AzureMLClients(
        ml.online_endpoints,
        ml.online_deployments,
        monitor.autoscale_settings,
        arm_diagnostic_settings(credential, **kwargs),
    )


def azureml_batch_clients(target: AzureMLTarget, credential: Any, **sdk_kwargs: Any) -> AzureMLBatchClients:
    """The batch side of the target's workspace: batch endpoints and deployments, jobs, schedules."""
    ml = MLClient(
        credential,
        subscription_id=target.subscription_id,
        resource_group_name=target.resource_group,
        workspace_name=target.workspace,
        **(SDK_RETRIES_OFF | sdk_kwargs),
    )
    return AzureMLBatchClients(ml.batch_endpoints, ml.batch_deployments, ml.jobs, ml.schedules)


@dataclass
class AzureMLBackends:
    """Backends by endpoint; one credential, clients per workspace, one guard (breaker per endpoint)."""

    credential: Any = None
    guard: Guard = field(default_factory=Guard)
    make_clients: Callable[[AzureMLTarget, Any], AzureMLClients] = azureml_clients
    _clients: dict[tuple[str, str, str], AzureMLClients] = field(default_factory=dict)
    _backends: dict[tuple[str, str, str, str], AzureMLBackend] = field(default_factory=dict)
    _models: dict[tuple[str, ...], ModelOps] = field(default_factory=dict)
    _serverless: dict[tuple[str, ...], ServerlessBackend] = field(default_factory=dict)
    make_batch_clients: Callable[[AzureMLTarget, Any], AzureMLBatchClients] = azureml_batch_clients
    _batch_clients: dict[tuple[str, str, str], AzureMLBatchClients] = field(default_factory=dict)
    _batch: dict[tuple[str, str, str, str], AzureMLBatchBackend] = field(default_factory=dict)

    def for_serverless(self, target: ServerlessTarget) -> ServerlessBackend:
        """One adapter of a serverless endpoint: the workspace's serverless endpoints and models, and the
        gateway's named values, with the one credential."""
        key = (
            target.subscription_id,
            target.resource_group.lower(),
            target.workspace.lower(),
            target.endpoint_name.lower(),
            target.adapter,
        )
        backend = self._serverless.get(key)
        if backend is None or backend.target != target:
            from modeldeploy.backends.azureml.apim import ApimNamedValues

            if self.credential is None:
                self.credential = DefaultAzureCredential()
            ml = MLClient(
                self.credential,
                subscription_id=target.subscription_id,
                resource_group_name=target.resource_group,
                workspace_name=target.workspace,
                **SDK_RETRIES_OFF,
            )
            gw = target.gateway
            routes = ApimNamedValues(
                self.credential, target.subscription_id, gw.resource_group, gw.service, **SDK_RETRIES_OFF
            )
            endpoints = ml.online_endpoints if target.endpoint_kind == "managed" else ml.serverless_endpoints
            backend = ServerlessBackend(
                endpoints,
                lambda registry: self.models_for(target, registry),
                routes,
                target,
                guard=self.guard,
            )
            self._serverless[key] = backend
        return backend

    def models_for(self, target: AzureMLTarget | ServerlessTarget, registry: str | None) -> ModelOps:
        """Model operations of the target's workspace, or of the shared ``registry`` (same credential)."""
        if registry is not None:
            key: tuple[str, ...] = ("registry", registry.lower())
        else:
            key = (target.subscription_id, target.resource_group.lower(), target.workspace.lower())
        ops = self._models.get(key)
        if ops is None:
            if self.credential is None:
                self.credential = DefaultAzureCredential()
            if registry is not None:
                ml = MLClient(self.credential, subscription_id=target.subscription_id, registry_name=registry)
            else:
                ml = MLClient(
                    self.credential,
                    subscription_id=target.subscription_id,
                    resource_group_name=target.resource_group,
                    workspace_name=target.workspace,
                    **SDK_RETRIES_OFF,
                )
            ops = self._models[key] = ml.models
        return ops

    def for_target(self, target: AzureMLTarget) -> AzureMLBackend:
        workspace = (target.subscription_id, target.resource_group.lower(), target.workspace.lower())
        key = (*workspace, target.endpoint_name.lower())
        backend = self._backends.get(key)
        if backend is None or backend.target != target:
            if self.credential is None:
                self.credential = DefaultAzureCredential()
            clients = self._clients.get(workspace)
            if clients is None:
                clients = self._clients[workspace] = self.make_clients(target, self.credential)
            previous = backend._pollers if backend is not None else {}
            backend = AzureMLBackend(clients, target, guard=self.guard, _pollers=previous)
            self._backends[key] = backend
        return backend

    def for_batch(self, target: AzureMLTarget) -> AzureMLBatchBackend:
        """The batch backend of the target's batch endpoint; kept, so runs it saw end are not read again."""
        workspace = (target.subscription_id, target.resource_group.lower(), target.workspace.lower())
        key = (*workspace, target.endpoint_name.lower())
        backend = self._batch.get(key)
        if backend is None or backend.target != target:
            if self.credential is None:
                self.credential = DefaultAzureCredential()
            clients = self._batch_clients.get(workspace)
            if clients is None:
                clients = self._batch_clients[workspace] = self.make_batch_clients(target, self.credential)
            backend = self._batch[key] = AzureMLBatchBackend(clients, target, guard=self.guard)
        return backend
