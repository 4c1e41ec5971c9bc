"""The analysis service, the controller's one entry point into analysis: a ModelDeployment's metric checks,
shadow comparisons and drift tests for one revision, run through the engine in this package.

Providers and drift analyzers are kept between runs (a drift analyzer holds the sorted reference profile, the
costly part), keyed by what they depend on, so a spec edit builds fresh ones. Drift distances of azureml
targets also go to Application Insights for the platform's drift alert (``analysis.drift_metrics``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from modeldeploy.analysis.datastores import DatastoreResolver, Workspace
from modeldeploy.analysis.drift_metrics import DriftMetricSink, drift_points, sink_from_environment
from modeldeploy.analysis.from_spec import analysis_config, status_record
from modeldeploy.analysis.providers import MetricProvider
from modeldeploy.analysis.run import DriftAnalyzer, Sources, run_analysis
from modeldeploy.analysis.stores import ContainerClient, DataUnavailable, container_client
from modeldeploy.analysis.types import FeatureKind, MetricOutcome, RunResult
from modeldeploy.api.azure_names import deployment_name, deployment_resource_id, endpoint_resource_id
from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult, Verdict
from modeldeploy.ports import Owner
from modeldeploy.rollout.actions import RunAnalysis

if TYPE_CHECKING:  # data sources and shadow comparisons load numpy/pyarrow/scipy: only when first used
    from modeldeploy.analysis.pushdown import Pushdown
    from modeldeploy.analysis.shadow import Side
    from modeldeploy.analysis.uris import Locator

ClientFactory = Callable[[str, str], ContainerClient]
PushdownFactory = Callable[[Owner, ModelDeploymentSpec], "Pushdown | None"]
DEFAULT_PROMETHEUS = os.environ.get(
    "MODELDEPLOY_PROMETHEUS_URL", "http://prometheus-operated.monitoring:9090"
)
MIN_WINDOW = timedelta(seconds=30)
log = logging.getLogger(__name__)
MAX_DOCUMENT = 1 << 20
MAX_PROVIDER_SETS = 64


def _default_providers(spec: ModelDeploymentSpec) -> dict[str, MetricProvider]:
    from modeldeploy.analysis.prometheus import PrometheusProvider

    providers: dict[str, MetricProvider] = {}
    address = spec.analysis.prometheus_address if spec.analysis else None
    providers["prometheus"] = PrometheusProvider(address or DEFAULT_PROMETHEUS)
    if spec.target.azureml is not None:
        from azure.identity import DefaultAzureCredential
        from azure.mgmt.monitor import MonitorManagementClient

        from modeldeploy.analysis.azure_monitor import AzureMonitorProvider

        monitor = MonitorManagementClient(DefaultAzureCredential(), spec.target.azureml.subscription_id)
        providers["azureMonitor"] = AzureMonitorProvider(monitor.metrics)
    if spec.target.azureml is not None or spec.target.serverless is not None:
        from azure.identity import DefaultAzureCredential
        from azure.monitor.query import LogsQueryClient

        from modeldeploy.analysis.workspace_logs import WorkspaceLogsProvider

        providers["logAnalytics"] = WorkspaceLogsProvider(LogsQueryClient(DefaultAzureCredential()))
    return providers


class AnalysisService:
    def __init__(
        self,
        providers_for: Callable[[ModelDeploymentSpec], dict[str, MetricProvider]] = _default_providers,
        drift_metrics: DriftMetricSink | None = None,
        datastores: DatastoreResolver | None = None,
        make_client: ClientFactory = container_client,
        data_root: str | None = None,
        uri_guard: Callable[[Owner, ModelDeploymentSpec, str], str | None] | None = None,
        pushdown: PushdownFactory | None = None,
    ) -> None:
        """``uri_guard``: the ModelDeploymentPolicy check for every data URI read (see ``Locator``).
        ``drift_metrics``: where azureml drift distances go; by default from the environment.
        ``datastores`` resolves azureml:// data URIs and ``make_client`` opens Blob containers (by default
        azure-ai-ml and azure-storage-blob as the operator's identity). ``data_root``: the only local
        directory file:// URIs may name (None: file:// is refused). ``pushdown``: where drift windows too
        large for this process are analysed (``spark_pushdown``), per object; None reads every one here."""
        self._pushdown = pushdown
        self._data_root = data_root
        self._uri_guard = uri_guard
        self._providers_for = providers_for
        self._datastores, self._make_client = datastores, make_client
        self._drift_metrics = drift_metrics if drift_metrics is not None else sink_from_environment()
        # Shared by every object that reads the same Prometheus and subscription (a client per object cost a
        # connection pool and, on Azure, an SDK pipeline each); least recently used dropped past the cap, so
        # specs naming many addresses cannot grow it without bound.
        self._providers: OrderedDict[Any, dict[str, MetricProvider]] = OrderedDict()
        self._providers_lock = threading.Lock()
        self._drift: dict[str, tuple[Any, DriftAnalyzer]] = {}

    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        analysis = spec.analysis
        if analysis is None:
            return AnalysisResult(
                revision=request.revision,
                step_index=request.step_index,
                time=now,
                verdict=Verdict.SUCCESSFUL,
                message="no analysis configured",
            )
        window = max(now - request.window_start, MIN_WINDOW)
        params = self._params(owner, spec, request.revision)
        baseline = None if request.baseline is None else self._params(owner, spec, request.baseline)
        config = analysis_config(analysis, window.total_seconds(), params, baseline)
        config = dataclasses.replace(
            config,
            metrics=tuple(dataclasses.replace(m, query=_substitute(m.query, params)) for m in config.metrics),
        )
        providers = self._cached_providers(owner, spec)
        extra = self._shadow(owner, spec, request, providers, now - window, now)
        result = run_analysis(config, self._drift_for(owner, spec, request.revision), providers, now, extra)
        self._publish_drift(spec, request.revision, result)
        return status_record(result, request.revision, request.step_index, now)

    def _publish_drift(self, spec: ModelDeploymentSpec, revision: str, result: RunResult) -> None:
        target = spec.target.azureml
        if target is None or result.drift is None:
            return
        points = drift_points(
            result.drift,
            endpoint=target.endpoint_name,
            deployment=deployment_name(revision),
            revision=revision,
        )
        try:
            self._drift_metrics.publish(points)
        except Exception:  # telemetry must never fail an analysis
            log.warning("publishing drift metrics of %s failed", revision, exc_info=True)

    @staticmethod
    def _params(owner: Owner, spec: ModelDeploymentSpec, revision: str) -> dict[str, str]:
        params = {
            **_placeholders(owner, revision, spec.target.azureml),
            # Pods carry the revision label; scrape configs relabel it to `revision` (see the README).
            "selector": f'namespace="{owner.namespace}",revision="{revision}"',
        }
        target = spec.target.azureml
        if target is not None:
            deployment = params["deployment"]
            where = (target.subscription_id, target.resource_group, target.workspace, target.endpoint_name)
            params["resource"] = endpoint_resource_id(*where)
            params["deploymentResource"] = deployment_resource_id(*where, deployment)
        serverless = spec.target.serverless
        if serverless is not None:  # the gateway's series carry the endpoint, the adapter and the revision
            params["endpoint"], params["adapter"] = serverless.endpoint_name, serverless.adapter
        azure = target if target is not None else serverless
        logs = azure.log_analytics_workspace_id if azure is not None else None
        if logs is not None:  # what provider logAnalytics queries
            params["logAnalyticsWorkspace"] = logs
        return params

    def _shadow(
        self,
        owner: Owner,
        spec: ModelDeploymentSpec,
        request: RunAnalysis,
        providers: dict[str, MetricProvider],
        start: datetime,
        end: datetime,
    ) -> tuple[MetricOutcome, ...]:
        """The shadow strategy's comparisons, candidate against stable (the baseline) on mirrored traffic."""
        shadow = spec.strategy.shadow if spec.strategy is not None else None
        if shadow is None or request.baseline is None:
            return ()
        cmp = shadow.comparison
        provider = providers["azureMonitor" if spec.target.azureml is not None else "prometheus"]
        drift = spec.analysis.drift if spec.analysis else None

        locator = self._locator(_workspace(spec.target.azureml), owner, spec)

        from modeldeploy.analysis.shadow import (
            Side,
            compare_error_rate,
            compare_latency,
            compare_predictions,
        )
        from modeldeploy.analysis.uris import fill, source_for

        def side(revision: str) -> Side:
            predictions = None
            if drift is not None and ("{revision}" in drift.live.uri or "{deployment}" in drift.live.uri):
                uri = fill(drift.live.uri, _placeholders(owner, revision, spec.target.azureml))
                predictions = source_for(uri, drift.live.format, live=True, locator=locator)
            return Side(self._params(owner, spec, revision), predictions)

        cand, base = side(request.revision), side(request.baseline)
        out: list[MetricOutcome] = []
        if cmp.latency is not None:
            out.append(
                compare_latency(
                    provider, cmp.latency.percentile, cmp.latency.max_increase_percent, cand, base, start, end
                )
            )
        if cmp.error_rate is not None:
            out.append(compare_error_rate(provider, cmp.error_rate.max_increase, cand, base, start, end))
        if cmp.prediction is not None:
            column, kind = "prediction", FeatureKind.NUMERICAL
            if drift is not None and drift.prediction is not None:
                column, kind = drift.prediction.column, FeatureKind(drift.prediction.type)
            min_samples = drift.min_sample_size if drift is not None else 1000
            out.append(
                compare_predictions(
                    column,
                    kind,
                    cmp.prediction.test,
                    cmp.prediction.threshold,
                    min_samples,
                    cand,
                    base,
                    start,
                    end,
                )
            )
        return tuple(out)

    def close(self) -> None:
        """Cancel every drift job still running (the operator is stopping)."""
        for _, analyzer in list(self._drift.values()):
            analyzer.close()

    def forget(self, uid: str) -> None:
        """Drop an object's reference profile and cancel a drift job still running for it (the object is
        gone; providers are shared, not its own)."""
        dropped = self._drift.pop(uid, None)
        if dropped is not None:
            dropped[1].close()

    def _cached_providers(self, owner: Owner, spec: ModelDeploymentSpec) -> dict[str, MetricProvider]:
        azureml = spec.target.azureml
        key = (
            spec.analysis.prometheus_address if spec.analysis else None,
            azureml.subscription_id if azureml is not None else None,
            spec.target.type,  # which providers the set holds (logAnalytics only for Azure targets)
        )
        with self._providers_lock:
            cached = self._providers.get(key)
            if cached is not None:
                self._providers.move_to_end(key)
                return cached
        made = self._providers_for(spec)
        with self._providers_lock:
            self._providers[key] = made
            while len(self._providers) > MAX_PROVIDER_SETS:
                self._providers.popitem(last=False)
        return made

    def _drift_for(self, owner: Owner, spec: ModelDeploymentSpec, revision: str) -> DriftAnalyzer | None:
        drift = spec.analysis.drift if spec.analysis else None
        if drift is None:
            return None
        values = _placeholders(owner, revision, spec.target.azureml)
        workspace = _workspace(spec.target.azureml)
        key = (drift, revision, workspace)
        cached = self._drift.get(owner.uid)
        if cached is not None and cached[0] != key:
            cached[1].close()  # the spec changed: a job for the old one is of no use
        if cached is None or cached[0] != key:
            from modeldeploy.analysis.uris import fill, source_for

            locator = self._locator(workspace, owner, spec)
            reference = fill(drift.reference.uri, values)
            sources = Sources(
                reference=source_for(reference, drift.reference.format, locator=locator),
                live=source_for(fill(drift.live.uri, values), drift.live.format, live=True, locator=locator),
                live_window=timedelta(seconds=parse_duration(drift.live.window)),
            )
            push = self._pushdown(owner, spec) if self._pushdown is not None else None
            cached = self._drift[owner.uid] = (key, DriftAnalyzer(sources, push))
        return cached[1]

    def read_document(self, owner: Owner, spec: ModelDeploymentSpec, uri: str) -> bytes:
        """One file a spec names (validation's requestsUri), read as analysis data is: through the policy
        guard, under --data-root for file://, at most MAX_DOCUMENT bytes. Raises DataUnavailable."""
        from modeldeploy.analysis.uris import fill

        locator = self._locator(_workspace(spec.target.azureml), owner, spec)
        store, path = locator.open(
            locator.parse(fill(uri, {"namespace": owner.namespace, "name": owner.name}))
        )
        data = store.read(path)
        if len(data) > MAX_DOCUMENT:
            raise DataUnavailable(
                f"{uri}: {len(data)} bytes, more than the {MAX_DOCUMENT} a document may have"
            )
        return data

    def locator_for(self, owner: Owner, spec: ModelDeploymentSpec) -> Locator:
        """How ``owner``'s data URIs are read: the policy guard, --data-root, the target's workspace."""
        return self._locator(_workspace(spec.target.azureml), owner, spec)

    def _locator(self, workspace: Workspace | None, owner: Owner, spec: ModelDeploymentSpec) -> Locator:
        from modeldeploy.analysis.uris import Locator

        guard = self._uri_guard
        bound = None if guard is None else functools.partial(guard, owner, spec)
        return Locator(workspace, self._datastores, self._make_client, data_root=self._data_root, guard=bound)


def _workspace(target: AzureMLTarget | None) -> Workspace | None:
    """Where short azureml://datastores/ URIs resolve: the azureml target's workspace (none on Kubernetes)."""
    if target is None:
        return None
    return Workspace(target.subscription_id, target.resource_group, target.workspace)


def _placeholders(owner: Owner, revision: str, target: AzureMLTarget | None) -> dict[str, str]:
    """What ``{namespace}``/``{name}``/``{revision}``/``{endpoint}``/``{deployment}`` in data URIs (and
    ``$revision``/``$deployment`` in queries) stand for. On Azure ML, endpoint and deployment are the names
    the data collector files rows under (``modelDataCollector/<endpoint>/<deployment>/...``)."""
    values = {"namespace": owner.namespace, "name": owner.name, "revision": revision}
    if target is None:
        return {**values, "endpoint": owner.name, "deployment": revision}
    return {**values, "endpoint": target.endpoint_name, "deployment": deployment_name(revision)}


def _substitute(query: str, params: dict[str, str]) -> str:
    for key in ("namespace", "name", "revision", "deployment", "adapter"):
        if key in params:
            query = query.replace(f"${key}", params[key])
    return query


LOCAL_POLL_SECONDS = 2.0


def spark_pushdown(max_bytes: int, local_dir: str | None) -> PushdownFactory:
    """Azure ML serverless Spark in an azureml target's workspace (the workspace the policy granted the
    namespace: the job runs where the revision runs); local pyspark for kubernetes targets when
    ``local_dir`` is given, else none."""

    def make(owner: Owner, spec: ModelDeploymentSpec) -> Pushdown | None:
        from modeldeploy.analysis.pushdown import LocalSpark, Pushdown

        target = spec.target.azureml
        if target is not None:
            from azure.ai.ml import MLClient

            from modeldeploy.analysis.azureml_spark import AzureMLSpark
            from modeldeploy.analysis.stores import operator_credential

            where = (target.subscription_id, target.resource_group, target.workspace)
            return Pushdown(AzureMLSpark(MLClient(operator_credential(), *where).jobs), max_bytes)
        if local_dir is None:
            return None
        # Polling a local job is a waitpid, not a REST call: often, so its result is not left waiting.
        return Pushdown(LocalSpark(local_dir), max_bytes, poll_seconds=LOCAL_POLL_SECONDS)

    return make
