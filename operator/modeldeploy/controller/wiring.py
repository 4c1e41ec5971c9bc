"""Builds the production reconciler: real clients, real backends, the analysis engine."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

from modeldeploy.analysis.batch_outputs import BatchDataReader
from modeldeploy.analysis.service import AnalysisService, spark_pushdown
from modeldeploy.analysis.validation import HttpValidator
from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec, ServerlessTarget
from modeldeploy.backends.azureml.registration import AzureMLRegistrar
from modeldeploy.backends.azureml.registry import AzureMLModelRegistry, ModelOps
from modeldeploy.backends.kubernetes import from_spec
from modeldeploy.backends.kubernetes.backend import KubernetesBackend
from modeldeploy.backends.kubernetes.batch import KubernetesBatchBackend
from modeldeploy.backends.kubernetes.cache import ChildCache
from modeldeploy.controller.batch import BatchReconciler
from modeldeploy.controller.edge import EdgeVersions
from modeldeploy.controller.events import AsyncEventSink
from modeldeploy.controller.kube import KubeEventSink, KubeStatusStore
from modeldeploy.controller.notifications import KubeSecrets, Notifier
from modeldeploy.controller.platform_handoff import HandoffReader
from modeldeploy.controller.policies import Mode, PolicyGate
from modeldeploy.controller.reconciler import Outcome, Reconciler
from modeldeploy.controller.retraining import DefaultRetrainer
from modeldeploy.observability.batch_runs import RunSink
from modeldeploy.observability.batch_runs import sink_from_environment as batch_runs_sink
from modeldeploy.observability.instrument import MeteredEventSink, MeteredReconciler, MeteredStatusStore
from modeldeploy.observability.metrics import BATCH_RUNS, EVENTS_DROPPED, NOTIFICATIONS
from modeldeploy.ports import (
    BackendError,
    BatchBackend,
    Owner,
    RevisionRequest,
    ScoringAddress,
    ServingBackend,
)
from modeldeploy.rollout.serving import RevisionState, TrafficSplit

if TYPE_CHECKING:
    from modeldeploy.backends.azureml.batch import AzureMLBatchBackend
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


_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def operator_namespace() -> str:
    """Where the platform's own notification Secrets live (a policy's default subscriptions): the pod's
    namespace (POD_NAMESPACE from the downward API, else the service account's), kdap-system outside one."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        return _SA_NAMESPACE.read_text().strip() or "kdap-system"
    except OSError:
        return "kdap-system"


class Backends:
    """The reconciler's backend factory: a Kubernetes backend over the shared watch-fed child cache, or the
    Azure ML backend for the target's workspace. azure-ai-ml and the management SDKs (about 90 MB) load with
    the first azureml target, not before."""

    def __init__(self, dyn: DynamicClient, children: ChildCache | None = None) -> None:
        self.dyn = dyn
        self.children = children or ChildCache()
        self._azureml: AzureMLBackends | None = None
        self._kube_batch = KubernetesBatchBackend(dyn)

    def _azure(self) -> AzureMLBackends:
        if self._azureml is None:
            from modeldeploy.backends.azureml.clients import AzureMLBackends

            self._azureml = AzureMLBackends()
        return self._azureml

    def __call__(self, owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend:
        if spec.target.kubernetes is not None:
            return KubernetesBackend(self.dyn, from_spec.route(spec), from_spec.workload, cache=self.children)
        if spec.target.serverless is not None:
            return self._azure().for_serverless(spec.target.serverless)
        assert spec.target.azureml is not None  # the model guarantees exactly one target block
        if spec.batch is not None:  # only its finalizer asks: the batch endpoint goes with the object
            return BatchTeardown(self._azure().for_batch(spec.target.azureml))
        return self._azure().for_target(spec.target.azureml)

    def batch(self, owner: Owner, spec: ModelDeploymentSpec) -> BatchBackend:
        """A batch model's backend: Jobs in the cluster, or the target's Azure ML batch endpoint."""
        if spec.target.azureml is not None:
            return self._azure().for_batch(spec.target.azureml)
        return self._kube_batch

    def models_for(self, target: AzureMLTarget | ServerlessTarget, registry: str | None) -> ModelOps:
        """Model operations of a workspace or registry, with the Azure ML backends' credential."""
        return self._azure().models_for(target, registry)


@dataclass(frozen=True)
class BatchTeardown:
    """The serving face of an Azure ML batch model: the reconciler asks a batch model's serving backend for
    ``delete_all`` only (the finalizer); anything else would be a bug, and says so."""

    backend: AzureMLBatchBackend

    def delete_all(self, owner: Owner) -> None:
        self.backend.delete_all(owner)

    def _none(self, what: str) -> BackendError:
        return BackendError("BatchModel", f"{what}: a batch model has no online revisions", retryable=False)

    def ensure_revision(self, owner: Owner, revision: RevisionRequest) -> RevisionState:
        raise self._none("ensure_revision")

    def revision_state(self, owner: Owner, name: str) -> RevisionState:
        raise self._none("revision_state")

    def set_traffic(self, owner: Owner, split: TrafficSplit) -> None:
        raise self._none("set_traffic")

    def observed_traffic(self, owner: Owner) -> TrafficSplit | None:
        raise self._none("observed_traffic")

    def delete_revision(self, owner: Owner, name: str) -> None:
        raise self._none("delete_revision")

    def scoring_address(self, owner: Owner, name: str) -> ScoringAddress:
        raise self._none("scoring_address")


def _count_run(sink: RunSink, namespace: str, name: str, trigger: str, outcome: str) -> None:
    """An ended batch run: the Prometheus counter, and Application Insights for the platform's alert."""
    BATCH_RUNS.labels(namespace, trigger, outcome).inc()
    sink.record(namespace, name, trigger, outcome)


@dataclass
class Wiring:
    api: client.ApiClient
    backends: Backends
    reconciler: MeteredReconciler[Outcome]
    policy: PolicyGate
    analysis: AnalysisService | None = None  # closed at shutdown: its Spark jobs end with the operator

    @property
    def children(self) -> ChildCache:
        return self.backends.children


def build_wiring(
    api: client.ApiClient | None = None,
    connections: int | None = None,
    data_root: str | None = None,
    policy: Mode = "enforce",
    validation_address: str | None = None,
    handoff: str = "",
    pushdown_bytes: int | None = None,
    spark_local_dir: str | None = None,
) -> Wiring:
    """``handoff``: the platform's ConfigMap as namespace/name ("" for none)."""
    api = api or load_kube_config(connections)
    dyn = DynamicClient(api)  # type: ignore[no-untyped-call]
    backends = Backends(dyn)
    gate = PolicyGate(policy)
    analysis = AnalysisService(
        data_root=data_root,
        uri_guard=lambda owner, spec, uri: gate.uri_refusal(owner.namespace, owner.name, spec, uri),
        pushdown=spark_pushdown(pushdown_bytes, spark_local_dir) if pushdown_bytes else None,
    )
    events = MeteredEventSink(AsyncEventSink(KubeEventSink(dyn), on_drop=EVENTS_DROPPED.inc))
    notifier = Notifier(
        KubeSecrets(api),
        operator_namespace(),
        gate=gate,
        events=events,
        count=lambda namespace, kind, outcome: NOTIFICATIONS.labels(namespace, kind, outcome).inc(),
    )
    store = MeteredStatusStore(KubeStatusStore(api))
    batch = BatchReconciler(
        backend=backends.batch,
        data=BatchDataReader(analysis.locator_for),
        store=store,
        events=events,
        clock=lambda: datetime.now(UTC),
        notifier=notifier,
        uri_guard=lambda owner, spec, uri: gate.uri_refusal(owner.namespace, owner.name, spec, uri),
        count=functools.partial(_count_run, batch_runs_sink()),
    )
    # Metered decorators: every reconcile, status write and Event feeds the operator's Prometheus metrics.
    reconciler = MeteredReconciler(
        Reconciler(
            backends=backends,
            store=store,
            events=events,
            analysis=analysis,
            retraining=DefaultRetrainer(api),
            policy=gate,
            notifier=notifier,
            namespace_labels=gate.labels_of,
            validator=HttpValidator(
                lambda owner, spec, revision: backends(owner, spec).scoring_address(owner, revision),
                override=validation_address,
                read=analysis.read_document,
            ),
            registry=AzureMLModelRegistry(backends.models_for),
            registrar=AzureMLRegistrar(backends.models_for),
            batch=batch.run,
            handoff=HandoffReader.over(api, handoff) if handoff else None,
            edge=EdgeVersions(),
        )
    )
    return Wiring(api, backends, reconciler, gate, analysis)


__all__ = ["BackendError", "Wiring", "build_wiring"]
