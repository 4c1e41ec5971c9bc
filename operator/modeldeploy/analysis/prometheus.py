"""Prometheus over its HTTP query API (``/api/v1/query``, evaluated at the window's end).

Built-in queries take their selector from ``params``; any other query is PromQL where ``$window`` becomes
the window as a range (``300s``). The answer must be one sample: a vector of several series is an error
that tells the author to aggregate, and an empty vector or NaN (e.g. 0/0 with no traffic) is no data.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from modeldeploy.caps import MAX_HTTP_RESPONSE, LimitExceeded, read_capped
from modeldeploy.http import OPENER

from .providers import RetryPolicy, TransientError, with_retries
from .types import MetricValue, Series

# Built-ins over conventional names; params: selector (label matchers), requests/duration metric names,
# error_codes (regex over the code label).
BUILTINS: dict[str, str] = {
    "errorRate": (
        'sum(rate({requests}{{{selector}{sep}{code_label}=~"{error_codes}"}}[$window])) '
        "/ sum(rate({requests}{{{selector}}}[$window]))"
    ),
    "requestRate": "sum(rate({requests}{{{selector}}}[$window]))",
    "latencyP50": "histogram_quantile(0.5, sum by (le) (rate({duration}_bucket{{{selector}}}[$window])))",
    "latencyP90": "histogram_quantile(0.9, sum by (le) (rate({duration}_bucket{{{selector}}}[$window])))",
    "latencyP95": "histogram_quantile(0.95, sum by (le) (rate({duration}_bucket{{{selector}}}[$window])))",
    "latencyP99": "histogram_quantile(0.99, sum by (le) (rate({duration}_bucket{{{selector}}}[$window])))",
    # What a comparison with stable reads (not in the API's list): counts over the window, and the latency
    # histogram's cumulative buckets by ``le``.
    "errorCount": 'sum(increase({requests}{{{selector}{sep}{code_label}=~"{error_codes}"}}[$window]))',
    "requestCount": "sum(increase({requests}{{{selector}}}[$window]))",
    "latencyBuckets": "sum by (le) (increase({duration}_bucket{{{selector}}}[$window]))",
}
DEFAULT_PARAMS = {
    "selector": "",
    "requests": "http_requests_total",
    "duration": "http_request_duration_seconds",
    "code_label": "code",
    "error_codes": "5..",
}


def render(query: str, params: Mapping[str, str], window_seconds: float) -> str:
    if query in BUILTINS:
        p = DEFAULT_PARAMS | dict(params)
        p["sep"] = "," if p["selector"] else ""
        query = BUILTINS[query].format(**p)
    return query.replace("$window", f"{max(int(window_seconds), 1)}s")


class PrometheusProvider:
    def __init__(self, address: str, policy: RetryPolicy | None = None) -> None:
        self.address = address.rstrip("/")
        self.policy = policy or RetryPolicy()

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        promql = render(query, params, (end - start).total_seconds())
        return with_retries(
            f"prometheus {self.address}", self.policy, lambda: self._once(promql, end, _value)
        )

    def query_by(
        self, query: str, label: str, params: Mapping[str, str], start: datetime, end: datetime
    ) -> Series:
        """Every series of ``query`` by the value of ``label`` (a histogram's buckets by ``le``)."""
        promql = render(query, params, (end - start).total_seconds())
        found: dict[str, Series] = {}

        def parse(q: str, body: Any) -> MetricValue:
            found["series"] = _by_label(q, label, body)
            return MetricValue(0.0)

        answer = with_retries(
            f"prometheus {self.address}", self.policy, lambda: self._once(promql, end, parse)
        )
        if answer.value is None:
            return Series(None, answer.message, answer.error)
        return found["series"]

    def _once(self, promql: str, at: datetime, parse: Callable[[str, Any], MetricValue]) -> MetricValue:
        args = urllib.parse.urlencode({"query": promql, "time": f"{at.timestamp():.3f}"})
        url = f"{self.address}/api/v1/query?{args}"
        try:
            with OPENER.open(url, timeout=self.policy.timeout_seconds) as resp:
                raw = read_capped(resp, MAX_HTTP_RESPONSE, f"the answer of {self.address}")
        except LimitExceeded as exc:
            return MetricValue(None, str(exc), error=True)
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:  # never followed: the grant is for this address, not the next
                return MetricValue(
                    None,
                    f"{self.address} answered HTTP {exc.code}, {exc.msg}: point "
                    "analysis.prometheusAddress at the server itself",
                    error=True,
                )
            if exc.code >= 500 or exc.code == 429:
                raise TransientError(f"HTTP {exc.code}") from exc
            detail = _error_text(exc)
            return MetricValue(None, f"prometheus rejected {promql!r}: HTTP {exc.code} {detail}")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientError(f"{self.address} unreachable: {getattr(exc, 'reason', exc)}") from exc
        try:
            return parse(promql, json.loads(raw))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            # Something answered 200 that is not Prometheus (a login page, a proxy, another API): a
            # misconfigured address, not missing data.
            what = (
                f"{self.address} answered HTTP 200 with something other than the Prometheus query API's JSON"
            )
            return MetricValue(
                None, f"{what} ({type(exc).__name__}); check analysis.prometheusAddress", error=True
            )


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(read_capped(exc, MAX_HTTP_RESPONSE, "error body")).get("error", ""))[:200]
    except (ValueError, OSError, AttributeError):
        return ""


def _value(promql: str, body: Any) -> MetricValue:
    """The one number of a query answer; raises ValueError/TypeError/KeyError on a body of another shape."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ValueError("no data object")
    data = body["data"]
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        samples = [result]
    elif kind == "vector":
        samples = [r["value"] for r in result]
    else:
        return MetricValue(None, f"{promql!r} returned a {kind}; the query must return one number")
    if not samples:
        return MetricValue(None, f"no data for {promql!r}")
    if len(samples) > 1:
        return MetricValue(None, f"{promql!r} returned {len(samples)} series; aggregate it to one (sum/avg)")
    value = float(samples[0][1])
    if math.isnan(value):
        return MetricValue(None, f"no data for {promql!r} (NaN: no traffic in the window?)")
    return MetricValue(value)


def _by_label(promql: str, label: str, body: Any) -> Series:
    """A vector answer as {label value: number}; raises ValueError/KeyError/TypeError on another shape."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ValueError("no data object")
    data = body["data"]
    if data.get("resultType") != "vector":
        return Series(None, f"{promql!r} returned a {data.get('resultType')}; expected a vector by {label}")
    values = {str(r["metric"][label]): float(r["value"][1]) for r in data["result"] if label in r["metric"]}
    if not values:
        return Series(None, f"no data for {promql!r}")
    return Series(values)
