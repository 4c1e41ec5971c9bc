"""Shadow comparisons: the candidate against stable on the same (mirrored) requests.

Latency and error rate are measured for both revisions over the same window and the candidate is held to
stable's value plus the allowed increase; the prediction distributions are compared with a drift test.
Each comparison is one ``MetricOutcome``, so it is folded into the verdict like any metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .drift import detect_drift
from .from_spec import TEST_METHODS
from .providers import MetricProvider
from .sources import DataSource, DataUnavailable
from .types import DriftConfig, FeatureConfig, FeatureKind, MetricOutcome, Verdict


@dataclass(frozen=True)
class Side:
    params: Mapping[str, str]
    predictions: DataSource | None = None


def _pair(
    provider: MetricProvider, query: str, candidate: Side, baseline: Side, start: datetime, end: datetime
) -> tuple[float | None, float | None, str]:
    c = provider.query(query, candidate.params, start, end)
    b = provider.query(query, baseline.params, start, end)
    missing = [f"{who}: {v.message}" for who, v in (("candidate", c), ("stable", b)) if v.value is None]
    return c.value, b.value, "; ".join(missing)


def compare_latency(
    provider: MetricProvider,
    percentile: int,
    max_increase_percent: float,
    candidate: Side,
    baseline: Side,
    start: datetime,
    end: datetime,
) -> MetricOutcome:
    name = f"shadow.latencyP{percentile}"
    cand, base, missing = _pair(provider, f"latencyP{percentile}", candidate, baseline, start, end)
    if cand is None or base is None:
        return MetricOutcome(name, Verdict.INCONCLUSIVE, cand, f"{name}: no data ({missing})")
    limit = base * (1 + max_increase_percent / 100)
    if cand > limit:
        return MetricOutcome(
            name,
            Verdict.FAILED,
            cand,
            f"{name} = {cand:g}s is more than {max_increase_percent:g}% above stable's {base:g}s",
        )
    return MetricOutcome(name, Verdict.SUCCESSFUL, cand, f"stable {base:g}s")


def compare_error_rate(
    provider: MetricProvider,
    max_increase: float,
    candidate: Side,
    baseline: Side,
    start: datetime,
    end: datetime,
) -> MetricOutcome:
    name = "shadow.errorRate"
    cand, base, missing = _pair(provider, "errorRate", candidate, baseline, start, end)
    if cand is None or base is None:
        return MetricOutcome(name, Verdict.INCONCLUSIVE, cand, f"{name}: no data ({missing})")
    if cand - base > max_increase:
        return MetricOutcome(
            name,
            Verdict.FAILED,
            cand,
            f"{name} = {cand:g} exceeds stable's {base:g} by more than {max_increase:g}",
        )
    return MetricOutcome(name, Verdict.SUCCESSFUL, cand, f"stable {base:g}")


def compare_predictions(
    column: str,
    kind: FeatureKind,
    test: str,
    threshold: float,
    min_samples: int,
    candidate: Side,
    baseline: Side,
    start: datetime,
    end: datetime,
) -> MetricOutcome:
    name = "shadow.predictions"
    if candidate.predictions is None or baseline.predictions is None:
        return MetricOutcome(
            name,
            Verdict.INCONCLUSIVE,
            None,
            f"{name}: set analysis.drift.live.uri with {{revision}} to read each revision's predictions",
        )
    try:
        cand = candidate.predictions.load(start, end)
        base = baseline.predictions.load(start, end)
    except DataUnavailable as exc:
        return MetricOutcome(name, Verdict.INCONCLUSIVE, None, f"{name}: {exc}")
    config = DriftConfig(
        features=(FeatureConfig(column, kind, TEST_METHODS[test], threshold),),
        drift_share=1.0,
        min_samples=min_samples,
    )
    try:
        result = detect_drift(config, base, cand)
    except ValueError as exc:
        return MetricOutcome(name, Verdict.ERROR, None, f"{name}: {exc}")
    f = result.features[0] if result.features else None
    if f is None:
        return MetricOutcome(name, Verdict.INCONCLUSIVE, None, f"{name}: {result.message}")
    if f.verdict is Verdict.FAILED:
        return MetricOutcome(
            name,
            Verdict.FAILED,
            f.statistic,
            f"{name}: {test} = {f.statistic or 0:g} crosses {threshold:g} ({column!r}, candidate vs stable)",
        )
    return MetricOutcome(name, f.verdict, f.statistic, result.message)
