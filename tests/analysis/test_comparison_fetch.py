"""A metric's comparison offline: buckets to per-bucket counts, missing data and providers that cannot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from modeldeploy.analysis.comparison.fetch import compare_metric
from modeldeploy.analysis.types import CompareCheck, MetricCheck, MetricValue, Series, Verdict

END = datetime(2025, 1, 1, tzinfo=UTC)
START = END - timedelta(minutes=10)
CAND, STABLE = {"revision": "c"}, {"revision": "s"}


class Fake:
    def __init__(
        self, values: dict[tuple[str, str], float | None], buckets: dict[str, dict[str, float]]
    ) -> None:
        self.values, self.buckets = values, buckets

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        v = self.values.get((params["revision"], query))
        return MetricValue(v, "" if v is not None else f"no data for {query}")

    def query_by(
        self, query: str, label: str, params: Mapping[str, str], start: datetime, end: datetime
    ) -> Series:
        return Series(self.buckets.get(params["revision"]), "no buckets")


class ScalarOnly:
    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        return MetricValue(1.0)


def _check(builtin: str, **compare: object) -> MetricCheck:
    rule = CompareCheck(baseline_params=STABLE, **compare)  # type: ignore[arg-type]
    return MetricCheck("m", "prometheus", builtin, params=CAND, compare=rule)


def test_cumulative_buckets_become_per_bucket_counts_for_mann_whitney() -> None:
    slow = {"0.1": 100.0, "0.5": 900.0, "+Inf": 2000.0}  # candidate: half its requests above 0.5 s
    fast = {"0.1": 1500.0, "0.5": 1950.0, "+Inf": 2000.0}
    out = compare_metric(_check("latencyP99", min_samples=100), Fake({}, {"c": slow, "s": fast}), START, END)
    assert out.verdict is Verdict.FAILED, out.message
    assert out.comparison is not None
    assert (out.comparison.candidate_samples, out.comparison.stable_samples) == (2000, 2000)
    assert out.comparison.effect is not None
    assert out.comparison.effect > 0.3


def test_welch_uses_bucket_midpoints_and_continues_until_the_interval_clears_the_margin() -> None:
    buckets = {"0.1": 50.0, "0.3": 100.0, "+Inf": 100.0}
    fake = Fake({}, {"c": buckets, "s": buckets})
    out = compare_metric(_check("latencyP50", test="welch", margin=0.05, min_samples=50), fake, START, END)
    assert out.comparison is not None
    assert out.comparison.candidate == pytest.approx((50 * 0.05 + 50 * 0.2) / 100)
    assert out.verdict is Verdict.SUCCESSFUL, out.message
    narrow = compare_metric(_check("latencyP50", test="welch", margin=0.01, min_samples=50), fake, START, END)
    assert narrow.verdict is Verdict.INCONCLUSIVE
    assert narrow.comparison is not None
    assert narrow.comparison.decision == "Continue"
    assert "undecided: interval [-0.03476, 0.03476] spans 0.01" in narrow.message


def test_no_requests_is_insufficient_data_naming_the_side() -> None:
    values = {
        ("c", "errorCount"): 0.0,
        ("c", "requestCount"): 0.0,
        ("s", "errorCount"): 3.0,
        ("s", "requestCount"): 900.0,
    }
    out = compare_metric(_check("errorRate"), Fake(values, {}), START, END)
    assert out.verdict is Verdict.INSUFFICIENT_DATA
    assert out.message == "m vs stable: no requests yet on candidate"


def test_a_missing_count_is_insufficient_data_with_the_providers_reason() -> None:
    out = compare_metric(_check("errorRate"), Fake({}, {}), START, END)
    assert out.verdict is Verdict.INSUFFICIENT_DATA
    assert out.message == "m vs stable: candidate: no data for errorCount"


def test_below_min_samples_never_passes() -> None:
    values = {
        ("c", "errorCount"): 0.0,
        ("c", "requestCount"): 500.0,
        ("s", "errorCount"): 30.0,
        ("s", "requestCount"): 9000.0,
    }
    out = compare_metric(_check("errorRate", margin=0.5), Fake(values, {}), START, END)
    assert out.verdict is Verdict.INSUFFICIENT_DATA
    assert "500 candidate and 9000 stable samples; minSamples is 1000" in out.message


def test_a_provider_without_buckets_is_an_error() -> None:
    out = compare_metric(_check("latencyP99"), ScalarOnly(), START, END)  # type: ignore[arg-type]
    assert out.verdict is Verdict.ERROR
    assert out.message == "m vs stable: provider 'prometheus' cannot read histogram buckets"
