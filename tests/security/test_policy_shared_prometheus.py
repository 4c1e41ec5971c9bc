"""Queries on the platform's shared Prometheus (no analysis.prometheusAddress) read only their own
namespace's series. Before, any PromQL ran there as the operator and its value went into the object's
status: `sum(rate(x{namespace="team-b"}[5m]))` read another team's numbers."""

from __future__ import annotations

import pytest

from tests.security.policy_cases import messages, policy, refused, spec

_WHY = (
    "queries on the platform's shared Prometheus may read only their own namespace's series (or set "
    "analysis.prometheusAddress to an address a ModelDeploymentPolicy grants)"
)


def _shared(query: str, **changes: object) -> object:
    metric = {"name": "q", "provider": "prometheus", "query": query, "max": 1}
    return spec(**{"analysis.metrics": [metric], "analysis.prometheusAddress": None, **changes})


def test_another_namespaces_series_are_refused_naming_the_selector() -> None:
    assert messages(_shared('sum(rate(requests_total{namespace="team-b"}[5m]))'), policy()) == [
        "spec.analysis.metrics[0].query: selects series of requests_total without "
        f'namespace="$namespace": {_WHY}'
    ]


@pytest.mark.parametrize(
    ("query", "selector"),
    [
        ("sum(rate(requests_total[5m]))", "requests_total"),  # every namespace's
        ('requests_total{namespace=~"team-a|team-b"}', "requests_total"),  # a regex does not bind
        ('requests_total{namespace!="team-a"}', "requests_total"),
        ('errors{namespace="team-a"} / on() group_left sum(requests_total)', "requests_total"),
        ('errors{namespace="team-a" or namespace="team-b"}', "errors"),  # each `or` branch must bind
        ('max_over_time(errors{namespace="team-a"}[10m:1m]) + scalar(up)', "up"),
        ('{__name__=~".+", job="x"}', "{...}"),
        ('errors{namespace="$name"}', "errors"),  # only $namespace is the namespace, even if the names agree
    ],
)
def test_every_selector_of_a_query_must_be_bound_to_the_namespace(query: str, selector: str) -> None:
    (refusal,) = refused(_shared(query), policy())
    assert refusal.field == "spec.analysis.metrics[0].query"
    assert refusal.reason.startswith(f"selects series of {selector} without")


@pytest.mark.parametrize(
    "query",
    [
        'max(bench_error_rate{namespace="$namespace",revision="$revision"}) or vector(0)',
        'sum(rate(errors{namespace="team-a",revision="$revision"}[$window])) / '
        'sum(rate(requests_total{namespace="$namespace"}[$window]))',
        'histogram_quantile(0.9, sum by (le) (rate(latency_bucket{namespace="$namespace"}[5m])))',
        'errors{namespace="$namespace" or namespace="team-a", code="500"}',
        '-(max_over_time(errors{namespace="team-a"}[10m:1m] offset 5m))',
    ],
)
def test_queries_bound_to_their_namespace_pass(query: str) -> None:
    assert refused(_shared(query), policy()) == []


def test_a_query_the_check_cannot_parse_is_refused() -> None:
    assert messages(_shared("sum(rate(errors[5m])"), policy()) == [
        "spec.analysis.metrics[0].query: is not PromQL the policy check can read (unclosed left parenthesis)"
    ]


def test_a_granted_prometheus_is_the_namespaces_own_to_query() -> None:
    granted = _shared("sum(rate(requests_total[5m]))", **{"analysis.prometheusAddress": None})
    assert refused(granted, policy()) != []
    metric = {"name": "q", "provider": "prometheus", "query": "sum(rate(requests_total[5m]))", "max": 1}
    own = spec(**{"analysis.metrics": [metric]})  # FULL names the granted prometheusAddress
    assert own.analysis is not None
    assert own.analysis.prometheus_address is not None
    assert refused(own, policy()) == []


def test_on_a_serverless_target_the_owned_adapter_binds_a_selector_too() -> None:
    from modeldeploy.policy.promql import unbound_selectors

    own = 'sum(rate(kdap_llm_requests_total{adapter="$adapter",revision="$revision"}[5m]))'
    assert unbound_selectors(own, "team-a", "coding") is None
    other = 'sum(rate(kdap_llm_requests_total{adapter="creative"}[5m]))'
    assert unbound_selectors(other, "team-a", "coding") == (
        'selects series of kdap_llm_requests_total without namespace="$namespace" or adapter="$adapter": '
        + _WHY
    )
    assert unbound_selectors(own, "team-a") is not None  # no adapter outside a serverless target
