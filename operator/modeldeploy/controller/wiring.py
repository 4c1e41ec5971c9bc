"""Builds the production reconciler: real clients, real backends, the analysis engine."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient
from pydantic import ValidationError

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.azureml.clients import AzureMLBackends
from modeldeploy.backends.base import BackendError, Owner, ServingBackend
from modeldeploy.backends.kubernetes import from_spec
from modeldeploy.backends.kubernetes.backend import KubernetesBackend
from modeldeploy.controller.analysis import DefaultAnalysisRunner
from modeldeploy.controller.kube import KubeEventSink, KubeStatusStore
from modeldeploy.controller.reconciler import Reconciler, owner_of
from modeldeploy.controller.retraining import DefaultRetrainingTrigger
from modeldeploy.observability.instrument import MeteredEventSink, MeteredReconciler, MeteredStatusStore

log = logging.getLogger(__name__)


def load_kube_config() -> client.ApiClient:
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    return client.ApiClient()


@dataclass
class Wiring:
    api: client.ApiClient
    dyn: DynamicClient
    reconciler: Reconciler
    azureml: AzureMLBackends = field(default_factory=AzureMLBackends)

    def backend_for(self, owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend:
        if spec.target.kubernetes is not None:
            return KubernetesBackend(self.dyn, from_spec.route(spec), from_spec.workload)
        assert spec.target.azureml is not None  # the model guarantees exactly one target block
        return self.azureml.for_target(spec.target.azureml)

    def backend_for_body(self, body: dict[str, Any]) -> ServingBackend | None:
        try:
            spec = ModelDeploymentSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            log.warning(
                "deleting %s with an invalid spec: nothing was created for it", body["metadata"]["name"]
            )
            return None
        return self.backend_for(owner_of(body), spec)


def build_wiring(api: client.ApiClient | None = None) -> Wiring:
    api = api or load_kube_config()
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
        retraining=DefaultRetrainingTrigger(api),
    )
    holder["w"] = Wiring(api, dyn, reconciler)
    return holder["w"]


__all__ = ["BackendError", "Wiring", "build_wiring"]
