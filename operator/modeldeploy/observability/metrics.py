"""The operator's Prometheus metrics, on a registry of its own (no process/platform collectors from the
default registry leaking into tests, and two operators in one test process do not collide).

Label sets are per resource (namespace, name): an operator manages tens to hundreds of ModelDeployments, not
millions, and per-resource series are what an alert on a stuck or rolled-back rollout needs. ``forget`` drops
a resource's series when it is deleted so the gauges do not report ghosts.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest

from modeldeploy.api.status import AnalysisResult, ModelDeploymentStatus, Phase, Verdict

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


_RES = ("namespace", "name")

RECONCILES = Counter(
    "modeldeploy_reconciles_total",
    "Reconcile passes by outcome (ok, conflict, backend_error, error).",
    [*_RES, "outcome"],
    registry=REGISTRY,
)
# Not per resource: a histogram is 16 series, and per-object latency is what the logs are for.
RECONCILE_SECONDS = Histogram(
    "modeldeploy_reconcile_duration_seconds",
    "Wall time of one reconcile pass.",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
PHASE = Gauge(
    "modeldeploy_rollout_phase",
    "1 for the phase a ModelDeployment is in, 0 for the others (sum by (phase) counts rollouts by phase).",
    [*_RES, "phase"],
    registry=REGISTRY,
)
TRANSITIONS = Counter(
    "modeldeploy_phase_transitions_total",
    "Phase changes, by the phase entered.",
    [*_RES, "phase"],
    registry=REGISTRY,
)
WEIGHT = Gauge(
    "modeldeploy_traffic_weight_percent",
    "Live traffic weight per revision.",
    [*_RES, "revision"],
    registry=REGISTRY,
)
MIRROR = Gauge(
    "modeldeploy_traffic_mirror_percent",
    "Percent of requests mirrored to the shadow revision (0 when none).",
    list(_RES),
    registry=REGISTRY,
)
STEP = Gauge(
    "modeldeploy_rollout_step_index",
    "Current step of the rollout (-1 when no candidate is progressing).",
    list(_RES),
    registry=REGISTRY,
)
ANALYSES = Counter(
    "modeldeploy_analysis_runs_total",
    "Analysis runs by verdict.",
    [*_RES, "verdict"],
    registry=REGISTRY,
)
METRIC_VALUE = Gauge(
    "modeldeploy_analysis_metric_value",
    "Last measured value of each analysis metric.",
    [*_RES, "metric"],
    registry=REGISTRY,
)
ROLLBACKS = Counter(
    "modeldeploy_rollbacks_total",
    "Rollbacks by cause (drift, metrics, analysis, aborted).",
    [*_RES, "reason"],
    registry=REGISTRY,
)
DRIFT_STATISTIC = Gauge(
    "modeldeploy_drift_statistic",
    "Last drift statistic per feature (a p-value for ks/chiSquared, a distance otherwise).",
    [*_RES, "feature", "test"],
    registry=REGISTRY,
)
DRIFT_THRESHOLD = Gauge(
    "modeldeploy_drift_threshold",
    "The bound each feature's drift statistic is held to.",
    [*_RES, "feature", "test"],
    registry=REGISTRY,
)
DRIFTED = Gauge(
    "modeldeploy_drift_feature_drifted",
    "1 when the feature's last drift test failed.",
    [*_RES, "feature"],
    registry=REGISTRY,
)
DRIFT_SHARE = Gauge(
    "modeldeploy_drift_dataset_share",
    "Share of watched features that drifted in the last analysis.",
    list(_RES),
    registry=REGISTRY,
)
BACKEND_ERRORS = Counter(
    "modeldeploy_backend_errors_total",
    "Errors from the serving backend (Kubernetes or Azure ML) by reason.",
    [*_RES, "backend", "reason"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "modeldeploy_events_total",
    "Kubernetes Events posted, by type and reason.",
    [*_RES, "type", "reason"],
    registry=REGISTRY,
)
EVENTS_DROPPED = Counter(
    "modeldeploy_events_dropped_total",
    "Kubernetes Events not posted because the API was too slow to keep up (the buffer was full).",
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

_PHASES = tuple(p.value for p in Phase)
# Series per resource that `forget` must remove: label values beyond (namespace, name) are remembered here.
_seen: dict[tuple[str, str], set[tuple[str, tuple[str, ...]]]] = {}
_lock = threading.Lock()


def _remember(metric: str, namespace: str, name: str, *rest: str) -> None:
    with _lock:
        _seen.setdefault((namespace, name), set()).add((metric, rest))


def observe_reconcile(namespace: str, name: str, seconds: float, outcome: str) -> None:
    RECONCILES.labels(namespace, name, outcome).inc()
    RECONCILE_SECONDS.labels(outcome).observe(seconds)
    _remember("reconcile", namespace, name, outcome)


def record_phase(namespace: str, name: str, phase: str | None, previous: str | None = None) -> None:
    """Set the one-hot phase gauge; count a transition when the phase changed."""
    for p in _PHASES:
        PHASE.labels(namespace, name, p).set(1.0 if p == phase else 0.0)
    if phase is not None and phase != previous:
        TRANSITIONS.labels(namespace, name, phase).inc()
        _remember("transition", namespace, name, phase)


def record_traffic(
    namespace: str, name: str, weights: dict[str, int], mirror_percent: int, step: int | None
) -> None:
    with _lock:
        old = {r[0] for m, r in _seen.get((namespace, name), set()) if m == "weight"}
    for gone in old - weights.keys():
        WEIGHT.remove(namespace, name, gone)
        with _lock:
            _seen[(namespace, name)].discard(("weight", (gone,)))
    for revision, weight in weights.items():
        WEIGHT.labels(namespace, name, revision).set(weight)
        _remember("weight", namespace, name, revision)
    MIRROR.labels(namespace, name).set(mirror_percent)
    STEP.labels(namespace, name).set(-1 if step is None else step)


def record_analysis(namespace: str, name: str, result: AnalysisResult) -> None:
    ANALYSES.labels(namespace, name, result.verdict.value).inc()
    _remember("analysis", namespace, name, result.verdict.value)
    for m in result.metrics:
        if m.value is not None:
            METRIC_VALUE.labels(namespace, name, m.name).set(m.value)
            _remember("metric", namespace, name, m.name)
    record_drift(namespace, name, result)


def record_drift(namespace: str, name: str, result: AnalysisResult) -> None:
    for f in result.drift:
        value = f.p_value if f.p_value is not None else f.distance if f.distance is not None else f.statistic
        if value is not None:
            DRIFT_STATISTIC.labels(namespace, name, f.feature, f.test).set(value)
        if f.threshold is not None:
            DRIFT_THRESHOLD.labels(namespace, name, f.feature, f.test).set(f.threshold)
        DRIFTED.labels(namespace, name, f.feature).set(1.0 if f.verdict is Verdict.FAILED else 0.0)
        _remember("drift", namespace, name, f.feature, f.test)
    if result.dataset_drift_share is not None:
        DRIFT_SHARE.labels(namespace, name).set(result.dataset_drift_share)


def record_rollback(namespace: str, name: str, reason: str) -> None:
    ROLLBACKS.labels(namespace, name, reason).inc()
    _remember("rollback", namespace, name, reason)


def record_backend_error(namespace: str, name: str, backend: str, reason: str) -> None:
    BACKEND_ERRORS.labels(namespace, name, backend, reason).inc()
    _remember("backend", namespace, name, backend, reason)


def record_event(namespace: str, name: str, type_: str, reason: str) -> None:
    EVENTS.labels(namespace, name, type_, reason).inc()
    _remember("event", namespace, name, type_, reason)


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


_FAMILIES: dict[str, Iterable[Counter | Gauge | Histogram]] = {
    "reconcile": (RECONCILES,),
    "transition": (TRANSITIONS,),
    "weight": (WEIGHT,),
    "analysis": (ANALYSES,),
    "metric": (METRIC_VALUE,),
    "drift": (DRIFT_STATISTIC, DRIFT_THRESHOLD),
    "rollback": (ROLLBACKS,),
    "backend": (BACKEND_ERRORS,),
    "event": (EVENTS,),
}


def forget(namespace: str, name: str) -> None:
    """Drop every series of a deleted ModelDeployment."""
    with _lock:
        seen = _seen.pop((namespace, name), set())
    for metric, rest in seen:
        for family in _FAMILIES[metric]:
            with contextlib.suppress(KeyError):
                family.remove(namespace, name, *rest)
        if metric == "drift":
            with contextlib.suppress(KeyError):
                DRIFTED.remove(namespace, name, rest[0])
    for family in (MIRROR, STEP, DRIFT_SHARE):
        with contextlib.suppress(KeyError):
            family.remove(namespace, name)
    for p in _PHASES:
        with contextlib.suppress(KeyError):
            PHASE.remove(namespace, name, p)


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
