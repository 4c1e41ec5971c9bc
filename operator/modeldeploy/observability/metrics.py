"""The operator's Prometheus metrics, on a registry of its own (no process/platform collectors from the
default registry leaking into tests, and two operators in one test process do not collide).

Label sets are per resource (namespace, name): an operator manages tens to hundreds of ModelDeployments, not
millions, and per-resource series are what an alert on a stuck or rolled-back rollout needs. ``forget`` drops
a resource's series when it is deleted so the gauges do not report ghosts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from modeldeploy.api.status import AnalysisResult, ModelDeploymentStatus, Phase, Verdict
from modeldeploy.observability.resource_series import Family, ResourceSeries

REGISTRY = CollectorRegistry(auto_describe=True)


class QueueStatsLike(Protocol):
    @property
    def depth(self) -> int: ...
    @property
    def oldest_age(self) -> float: ...
    @property
    def processing(self) -> int: ...
    @property
    def longest_running(self) -> float: ...
    @property
    def scheduled(self) -> int: ...


class QueueLike(Protocol):
    adds: int
    retries: int

    def stats(self) -> QueueStatsLike: ...


RECONCILES = Family(
    "modeldeploy_reconciles_total",
    "Reconcile passes by outcome (ok, conflict, backend_error, error).",
    counter=True,
    labels=("outcome",),
)
# Not per resource: a histogram is 16 series, and per-object latency is what the logs are for.
RECONCILE_SECONDS = Histogram(
    "modeldeploy_reconcile_duration_seconds",
    "Wall time of one reconcile pass.",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "modeldeploy_notifications_total",
    "Notification deliveries by receiver kind and outcome: sent; retried (an attempt failed, another is "
    "due); failed (given up: an Event NotificationFailed says why); dropped (the buffer was full).",
    ["namespace", "kind", "outcome"],
    registry=REGISTRY,
)
BATCH_RUNS = Counter(
    "modeldeploy_batch_runs_total",
    "Batch runs (spec.batch) that ended, by trigger kind (schedule, manual, dataArrival, validation) and "
    "outcome (succeeded, failed): alert on failed.",
    ["namespace", "trigger", "outcome"],
    registry=REGISTRY,
)
EVENTS_DROPPED = Counter(
    "modeldeploy_events_dropped_total",
    "Kubernetes Events not posted because the API was too slow to keep up (the buffer was full).",
    registry=REGISTRY,
)

_PHASES = tuple(p.value for p in Phase)
PHASE = Family(
    "modeldeploy_rollout_phase",
    "1 for the phase a ModelDeployment is in, 0 for the others (sum by (phase) counts rollouts by phase).",
    one_hot=_PHASES,
    hot_label="phase",
)
TRANSITIONS = Family(
    "modeldeploy_phase_transitions_total",
    "Phase changes, by the phase entered.",
    counter=True,
    labels=("phase",),
)
WEIGHT = Family(
    "modeldeploy_traffic_weight_percent", "Live traffic weight per revision.", labels=("revision",)
)
MIRROR = Family(
    "modeldeploy_traffic_mirror_percent", "Percent of requests mirrored to the shadow revision (0 when none)."
)
STEP = Family(
    "modeldeploy_rollout_step_index", "Current step of the rollout (-1 when no candidate is progressing)."
)
ANALYSES = Family(
    "modeldeploy_analysis_runs_total", "Analysis runs by verdict.", counter=True, labels=("verdict",)
)
METRIC_VALUE = Family(
    "modeldeploy_analysis_metric_value", "Last measured value of each analysis metric.", labels=("metric",)
)
ROLLBACKS = Family(
    "modeldeploy_rollbacks_total",
    "Rollbacks by cause (drift, metrics, analysis, aborted).",
    counter=True,
    labels=("reason",),
)
DRIFT_STATISTIC = Family(
    "modeldeploy_drift_statistic",
    "Last drift statistic per feature (a p-value for ks/chiSquared, a distance otherwise).",
    labels=("feature", "test"),
)
DRIFT_THRESHOLD = Family(
    "modeldeploy_drift_threshold",
    "The bound each feature's drift statistic is held to.",
    labels=("feature", "test"),
)
DRIFTED = Family(
    "modeldeploy_drift_feature_drifted", "1 when the feature's last drift test failed.", labels=("feature",)
)
DRIFT_SHARE = Family(
    "modeldeploy_drift_dataset_share", "Share of watched features that drifted in the last analysis."
)
BACKEND_ERRORS = Family(
    "modeldeploy_backend_errors_total",
    "Errors from the serving backend (Kubernetes or Azure ML) by reason.",
    counter=True,
    labels=("backend", "reason"),
)
EVENTS = Family(
    "modeldeploy_events_total",
    "Kubernetes Events posted, by type and reason.",
    counter=True,
    labels=("type", "reason"),
)
SERIES = ResourceSeries(
    (
        RECONCILES,
        PHASE,
        TRANSITIONS,
        WEIGHT,
        MIRROR,
        STEP,
        ANALYSES,
        METRIC_VALUE,
        ROLLBACKS,
        DRIFT_STATISTIC,
        DRIFT_THRESHOLD,
        DRIFTED,
        DRIFT_SHARE,
        BACKEND_ERRORS,
        EVENTS,
    )
)
REGISTRY.register(SERIES)


def observe_reconcile(namespace: str, name: str, seconds: float, outcome: str) -> None:
    SERIES.inc(RECONCILES, namespace, name, outcome)
    RECONCILE_SECONDS.labels(outcome).observe(seconds)


def record_phase(namespace: str, name: str, phase: str | None, previous: str | None = None) -> None:
    """Set the one-hot phase gauge; count a transition when the phase changed."""
    SERIES.put(PHASE, namespace, name, value=phase or "")
    if phase is not None and phase != previous:
        SERIES.inc(TRANSITIONS, namespace, name, phase)


def record_traffic(
    namespace: str, name: str, weights: dict[str, int], mirror_percent: int, step: int | None
) -> None:
    for (gone,) in SERIES.labels_of(WEIGHT, namespace, name) - {(r,) for r in weights}:
        SERIES.remove(WEIGHT, namespace, name, gone)
    for revision, weight in weights.items():
        SERIES.put(WEIGHT, namespace, name, revision, value=weight)
    SERIES.put(MIRROR, namespace, name, value=mirror_percent)
    SERIES.put(STEP, namespace, name, value=-1 if step is None else step)


def record_analysis(namespace: str, name: str, result: AnalysisResult) -> None:
    SERIES.inc(ANALYSES, namespace, name, result.verdict.value)
    for m in result.metrics:
        if m.value is not None:
            SERIES.put(METRIC_VALUE, namespace, name, m.name, value=m.value)
    record_drift(namespace, name, result)


def record_drift(namespace: str, name: str, result: AnalysisResult) -> None:
    for f in result.drift:
        value = f.p_value if f.p_value is not None else f.distance if f.distance is not None else f.statistic
        if value is not None:
            SERIES.put(DRIFT_STATISTIC, namespace, name, f.feature, f.test, value=value)
        if f.threshold is not None:
            SERIES.put(DRIFT_THRESHOLD, namespace, name, f.feature, f.test, value=f.threshold)
        SERIES.put(DRIFTED, namespace, name, f.feature, value=1.0 if f.verdict is Verdict.FAILED else 0.0)
    if result.dataset_drift_share is not None:
        SERIES.put(DRIFT_SHARE, namespace, name, value=result.dataset_drift_share)


def record_rollback(namespace: str, name: str, reason: str) -> None:
    SERIES.inc(ROLLBACKS, namespace, name, reason)


def record_backend_error(namespace: str, name: str, backend: str, reason: str) -> None:
    SERIES.inc(BACKEND_ERRORS, namespace, name, backend, reason)


def record_event(namespace: str, name: str, type_: str, reason: str) -> None:
    SERIES.inc(EVENTS, namespace, name, type_, reason)


def rollback_reason(status: ModelDeploymentStatus) -> str:
    """Why a rollout left the candidate: from the last analysis when there is one, else the phase."""
    if status.phase is Phase.DEGRADED:
        return "aborted"
    a = status.last_analysis
    if a is not None and a.verdict is Verdict.FAILED:
        if a.drift_detected:
            return "drift"
        if any(m.verdict is Verdict.FAILED for m in a.metrics):
            return "metrics"
    return "analysis"


def record_status(
    namespace: str, name: str, previous: ModelDeploymentStatus, status: ModelDeploymentStatus
) -> None:
    """Everything a status write tells: phase, traffic, a new analysis, a rollback. Called once per write."""
    prev_phase = previous.phase.value if previous.phase else None
    phase = status.phase.value if status.phase else None
    record_phase(namespace, name, phase, prev_phase)
    t = status.traffic
    record_traffic(
        namespace, name, dict(t.weights), t.mirror_percent if t.mirror else 0, status.current_step_index
    )
    if status.last_analysis is not None and status.last_analysis != previous.last_analysis:
        record_analysis(namespace, name, status.last_analysis)
    left = phase in (Phase.ROLLED_BACK, Phase.DEGRADED) and phase != prev_phase
    if left:
        record_rollback(namespace, name, rollback_reason(status))


def forget(namespace: str, name: str) -> None:
    """Drop every series of a deleted ModelDeployment."""
    SERIES.forget(namespace, name)


class _QueueCollector:
    """Work-queue figures read at scrape time, so work that waits is never silent (client-go's names)."""

    def __init__(self, queue: QueueLike, workers: int, objects: Callable[[], int]) -> None:
        self.queue, self.workers, self.objects = queue, workers, objects

    def collect(self) -> Iterable[Metric]:
        st = self.queue.stats()
        for name, doc, value in (
            ("modeldeploy_workqueue_depth", "Objects ready and waiting for a worker.", st.depth),
            (
                "modeldeploy_workqueue_oldest_item_age_seconds",
                "How long the longest-waiting ready object has waited.",
                st.oldest_age,
            ),
            ("modeldeploy_workqueue_processing", "Objects a worker is reconciling now.", st.processing),
            (
                "modeldeploy_workqueue_longest_running_processor_seconds",
                "How long the longest reconcile in progress has run.",
                st.longest_running,
            ),
            ("modeldeploy_workqueue_scheduled", "Objects waiting on a timer (requeue-after).", st.scheduled),
            ("modeldeploy_workers", "Worker threads reconciling ModelDeployments.", self.workers),
            ("modeldeploy_objects", "ModelDeployments in the operator's cache.", self.objects()),
        ):
            yield GaugeMetricFamily(name, doc, value=value)
        yield CounterMetricFamily(
            "modeldeploy_workqueue_adds",
            "Adds to the work queue (before de-duplication).",
            value=self.queue.adds,
        )
        yield CounterMetricFamily(
            "modeldeploy_workqueue_retries", "Rate-limited re-adds after a failure.", value=self.queue.retries
        )


_queue_collector: _QueueCollector | None = None
_lock = threading.Lock()


def register_queue(queue: QueueLike, workers: int, objects: Callable[[], int]) -> None:
    """Expose ``queue``'s figures (replacing a queue registered before, e.g. by an earlier test)."""
    global _queue_collector
    with _lock:
        if _queue_collector is not None:
            REGISTRY.unregister(_queue_collector)
        _queue_collector = _QueueCollector(queue, workers, objects)
        REGISTRY.register(_queue_collector)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> int:
    """Serve /metrics on ``port`` (0 picks a free port); returns the bound port."""
    server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
    return int(server.server_address[1])
