"""The Prometheus provider against a real server scraping traffic whose shape the fixture controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modeldeploy.analysis.prometheus import PrometheusProvider, render
from modeldeploy.analysis.providers import RetryPolicy

from .conftest import Served, _free_port

WINDOW = timedelta(seconds=10)


def _now() -> tuple[datetime, datetime]:
    end = datetime.now(UTC)
    return end - WINDOW, end


def test_error_rate_from_status_codes(prometheus: Served) -> None:
    value = PrometheusProvider(prometheus.address).query("errorRate", {"selector": 'job="app"'}, *_now())
    assert value.value == pytest.approx(0.05, abs=0.02), value.message


def test_p99_latency_by_histogram_quantile(prometheus: Served) -> None:
    # 5% of requests take 300 ms: the 99th percentile lies in the (0.25, 0.5] bucket.
    value = PrometheusProvider(prometheus.address).query("latencyP99", {}, *_now())
    assert value.value is not None, value.message
    assert 0.25 < value.value <= 0.5
    p50 = PrometheusProvider(prometheus.address).query("latencyP50", {}, *_now())
    assert p50.value is not None
    assert 0.005 < p50.value <= 0.02


def test_throughput(prometheus: Served) -> None:
    provider, window = PrometheusProvider(prometheus.address), _now()
    value = provider.query("requestRate", {}, *window)
    assert value.value is not None, value.message
    assert 5 < value.value < 130  # at most 100/s, fed by a sleeping thread on a shared machine
    by_hand = provider.query("sum(increase(http_requests_total[10s])) / 10", {}, *window)
    assert by_hand.value is not None
    assert value.value == pytest.approx(by_hand.value, rel=1e-6)


def test_custom_promql_with_window(prometheus: Served) -> None:
    q = 'sum(increase(http_requests_total{code="500"}[$window]))'
    q += " / sum(increase(http_requests_total[$window]))"
    value = PrometheusProvider(prometheus.address).query(q, {}, *_now())
    assert value.value == pytest.approx(0.05, abs=0.02)


def test_no_data_is_inconclusive_with_the_query_named(prometheus: Served) -> None:
    value = PrometheusProvider(prometheus.address).query(
        "sum(rate(nothing_here_total[$window]))", {}, *_now()
    )
    assert value.value is None
    assert value.message == "no data for 'sum(rate(nothing_here_total[10s]))'"


def test_error_rate_without_traffic_is_no_data_not_zero(prometheus: Served) -> None:
    value = PrometheusProvider(prometheus.address).query("errorRate", {"selector": 'job="absent"'}, *_now())
    assert value.value is None
    assert value.message.startswith("no data for")


def test_many_series_must_be_aggregated(prometheus: Served) -> None:
    value = PrometheusProvider(prometheus.address).query("rate(http_requests_total[$window])", {}, *_now())
    assert value.value is None
    assert "returned 2 series; aggregate it to one (sum/avg)" in value.message


def test_bad_promql_is_reported_not_retried(prometheus: Served) -> None:
    value = PrometheusProvider(prometheus.address).query("sum(rate(", {}, *_now())
    assert value.value is None
    assert "prometheus rejected 'sum(rate(': HTTP 400" in value.message


def test_unreachable_server_is_inconclusive_after_bounded_retries() -> None:
    policy = RetryPolicy(attempts=2, base_delay=0.0, timeout_seconds=1.0)
    address = f"http://127.0.0.1:{_free_port()}"
    value = PrometheusProvider(address, policy).query("requestRate", {}, *_now())
    assert value.value is None
    assert value.message.startswith(
        f"prometheus {address}: no answer after 2 attempts: {address} unreachable"
    )


def test_builtin_rendering_adds_selector_and_window() -> None:
    q = render("errorRate", {"selector": 'job="m"'}, 300)
    assert q == (
        'sum(rate(http_requests_total{job="m",code=~"5.."}[300s])) '
        '/ sum(rate(http_requests_total{job="m"}[300s]))'
    )


def test_counts_and_buckets_a_comparison_reads(prometheus: Served) -> None:
    provider, window = PrometheusProvider(prometheus.address), _now()
    errors = provider.query("errorCount", {"selector": 'job="app"'}, *window)
    total = provider.query("requestCount", {"selector": 'job="app"'}, *window)
    assert errors.value is not None, errors.message
    assert total.value is not None, total.message
    assert errors.value / total.value == pytest.approx(0.05, abs=0.02)
    buckets = provider.query_by("latencyBuckets", "le", {}, *window)
    assert buckets.values is not None, buckets.message
    assert set(buckets.values) == {"0.005", "0.02", "0.1", "0.25", "0.5", "1.0", "+Inf"}
    # cumulative: 95% of requests by 20 ms, all of them by 500 ms
    assert buckets.values["0.02"] / buckets.values["+Inf"] == pytest.approx(0.95, abs=0.02)
    assert buckets.values["0.5"] == buckets.values["+Inf"]


def test_a_revision_compared_with_itself_passes_non_inferiority(prometheus: Served) -> None:
    from modeldeploy.analysis.comparison.fetch import compare_metric
    from modeldeploy.analysis.types import CompareCheck, MetricCheck, Verdict

    same = {"selector": 'job="app"'}
    for builtin in ("errorRate", "latencyP99"):
        check = MetricCheck(
            "m",
            "prometheus",
            builtin,
            params=same,
            compare=CompareCheck(margin=0.1, min_samples=100, baseline_params=same),
        )
        out = compare_metric(check, PrometheusProvider(prometheus.address), *_now())
        assert out.verdict is Verdict.SUCCESSFUL, out.message
        assert out.comparison is not None
        assert out.comparison.effect == pytest.approx(0.0, abs=1e-9)
        assert out.comparison.test == ("proportion" if builtin == "errorRate" else "mannWhitney")
