"""One metric's comparison: read both revisions' counts over the same window, then judge them.

Error rates are read as two counts per revision (errors, requests) and latencies as the histogram's buckets
per revision, both with ``increase`` over the window since the step began: cumulative counts, which is what
the sequential interval is valid for (see ``sequential``). A provider that cannot answer, or too little
traffic, is Inconclusive or InsufficientData, never a pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..providers import MetricProvider
from ..types import CompareCheck, Comparison, MetricCheck, Series, Verdict
from .sequential import Better, Decision, Hypothesis, Rule, judge
from .stats import Estimate, mann_whitney, two_proportions, welch

_VERDICTS = {
    Decision.PASS: Verdict.SUCCESSFUL,
    Decision.FAIL: Verdict.FAILED,
    Decision.CONTINUE: Verdict.INCONCLUSIVE,
    Decision.INSUFFICIENT_DATA: Verdict.INSUFFICIENT_DATA,
}


@runtime_checkable
class SeriesProvider(Protocol):
    def query_by(
        self, query: str, label: str, params: Mapping[str, str], start: datetime, end: datetime
    ) -> Series: ...


@dataclass(frozen=True)
class Compared:
    verdict: Verdict
    message: str
    comparison: Comparison | None


class _Missing(Exception):
    def __init__(self, message: str, error: bool = False) -> None:
        super().__init__(message)
        self.error = error


def resolve_test(check: MetricCheck, compare: CompareCheck) -> str:
    if compare.test != "auto":
        return compare.test
    return "proportion" if check.query == "errorRate" else "mannWhitney"


def compare_metric(check: MetricCheck, provider: MetricProvider, start: datetime, end: datetime) -> Compared:
    compare = check.compare
    assert compare is not None
    assert compare.baseline_params is not None
    test = resolve_test(check, compare)
    sides = (("candidate", check.params), ("stable", compare.baseline_params))
    try:
        if test == "proportion":
            counts = [_counts(provider, who, params, start, end) for who, params in sides]
            if min(n for _, n in counts) == 0:
                raise _Missing(
                    "no requests yet on "
                    + " and ".join(w for (w, _), (_, n) in zip(sides, counts, strict=True) if n == 0)
                )
            estimate = two_proportions(counts[0][0], counts[0][1], counts[1][0], counts[1][1])
        else:
            if not isinstance(provider, SeriesProvider):
                raise _Missing(f"provider {check.provider!r} cannot read histogram buckets", error=True)
            hists = [_buckets(provider, who, params, start, end, test == "welch") for who, params in sides]
            if min(float(sum(c)) for _, c in hists) < 2:
                raise _Missing("fewer than 2 latency samples on a side")
            estimate = (welch if test == "welch" else mann_whitney)(hists[0], hists[1])
    except _Missing as exc:
        verdict = Verdict.ERROR if exc.error else Verdict.INSUFFICIENT_DATA
        status = Comparison(
            test=test, hypothesis=compare.hypothesis, margin=compare.margin, alpha=compare.alpha
        )
        return Compared(verdict, f"{check.name} vs stable: {exc}", status)
    rule = Rule(
        Hypothesis(compare.hypothesis),
        Better(compare.better),
        compare.margin,
        compare.alpha,
        compare.min_samples,
    )
    v = judge(estimate, rule)
    return Compared(
        _VERDICTS[v.decision],
        f"{check.name} vs stable ({test}): {v.reason}",
        _record(test, estimate, v.lower, v.upper, rule, v.decision),
    )


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _record(test: str, e: Estimate, lower: float, upper: float, rule: Rule, decision: Decision) -> Comparison:
    return Comparison(
        test=test,
        stable=_finite(e.stable),
        candidate=_finite(e.candidate),
        stable_samples=e.n_stable,
        candidate_samples=e.n_candidate,
        effect=_finite(e.effect),
        lower=_finite(lower),
        upper=_finite(upper),
        p_value=_finite(e.p_value),
        hypothesis=rule.hypothesis.value,
        margin=rule.margin,
        alpha=rule.alpha,
        decision=decision.value,
    )


def _counts(
    provider: MetricProvider, who: str, params: Mapping[str, str], start: datetime, end: datetime
) -> tuple[int, int]:
    """(errors, requests); ``increase`` extrapolates, so both are rounded and errors capped at requests."""
    answers = [provider.query(q, params, start, end) for q in ("errorCount", "requestCount")]
    for a in answers:
        if a.value is None:
            raise _Missing(f"{who}: {a.message}", a.error)
    errors, requests = (max(round(a.value or 0.0), 0) for a in answers)
    return min(errors, requests), requests


def _buckets(
    provider: SeriesProvider,
    who: str,
    params: Mapping[str, str],
    start: datetime,
    end: datetime,
    midpoints: bool,
) -> tuple[list[float], list[float]]:
    """Cumulative ``le`` buckets as (value, count) per bucket. Mann-Whitney needs only their order (the
    upper edge); Welch's means use each bucket's midpoint, and the +Inf bucket its lower edge."""
    series = provider.query_by("latencyBuckets", "le", params, start, end)
    if series.values is None:
        raise _Missing(f"{who}: {series.message}", series.error)
    edges = sorted((float(le), c) for le, c in series.values.items())
    values: list[float] = []
    counts: list[float] = []
    below, prev_edge = 0.0, 0.0
    for edge, cumulative in edges:
        finite_top = edge if math.isfinite(edge) else prev_edge
        if midpoints:
            values.append((prev_edge + finite_top) / 2 if math.isfinite(edge) else prev_edge)
        else:
            values.append(finite_top if math.isfinite(edge) else prev_edge * 2 + 1)
        counts.append(max(round(cumulative - below), 0))
        below, prev_edge = max(cumulative, below), finite_top
    return values, counts
