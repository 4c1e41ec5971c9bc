"""Builds the production reconciler: real clients, real backends, the analysis engine."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.kubernetes import from_spec
from modeldeploy.backends.kubernetes.backend import KubernetesBackend
from modeldeploy.backends.kubernetes.cache import ChildCache
from modeldeploy.controller.analysis import DefaultAnalysisRunner
from modeldeploy.controller.kube import KubeEventSink, KubeStatusStore
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.controller.retraining import DefaultRetrainer
from modeldeploy.observability.instrument import MeteredEventSink, MeteredReconciler, MeteredStatusStore
from modeldeploy.ports import BackendError, Owner, ServingBackend

if TYPE_CHECKING:
    from modeldeploy.backends.azureml.clients import AzureMLBackends

log = logging.getLogger(__name__)


def load_kube_config(connections: int | None = None) -> client.ApiClient:
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    if connections is not None:
        # One pooled connection per worker (and a few for the handlers): no "connection pool is full".
        configuration.connection_pool_maxsize = connections
    return client.ApiClient(configuration)


@dataclass
class Wiring:
    api: client.ApiClient
    dyn: DynamicClient
    reconciler: Reconciler
    children: ChildCache = field(default_factory=ChildCache)
    # azure-ai-ml and the management SDKs (about 90 MB) load with the first azureml target, not before.
    _azureml: Any = None

    def backend_for(self, owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend:
        if spec.target.kubernetes is not None:
            return KubernetesBackend(self.dyn, from_spec.route(spec), from_spec.workload, cache=self.children)
        assert spec.target.azureml is not None  # the model guarantees exactly one target block
        return self.azureml.for_target(spec.target.azureml)

    @property
    def azureml(self) -> AzureMLBackends:
        if self._azureml is None:
            from modeldeploy.backends.azureml.clients import AzureMLBackends

            self._azureml = AzureMLBackends()
        backends: AzureMLBackends = self._azureml
        return backends


def build_wiring(api: client.ApiClient | None = None, connections: int | None = None) -> Wiring:
    api = api or load_kube_config(connections)
    dyn = DynamicClient(api)  # type: ignore[no-untyped-call]
    holder: dict[str, Wiring] = {}

    def backends(owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend:
        return holder["w"].backend_for(owner, spec)

    # Metered wrappers: every status write and Event feeds the operator's Prometheus metrics.
    reconciler = MeteredReconciler(
        backends=backends,
        store=MeteredStatusStore(KubeStatusStore(api)),
        events=MeteredEventSink(KubeEventSink(api)),
        analysis=DefaultAnalysisRunner(),
        retraining=DefaultRetrainer(api),
    )
    holder["w"] = Wiring(api, dyn, reconciler)
    return holder["w"]


__all__ = ["BackendError", "Wiring", "build_wiring"]
