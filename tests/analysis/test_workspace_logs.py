"""The logAnalytics provider over azure-monitor-query's real LogsQueryClient and a requests transport that
answers from a list (no network): the KQL it sends for an adapter's revision, and how answers come back."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.monitor.query import LogsQueryClient

from modeldeploy.analysis.providers import RetryPolicy
from modeldeploy.analysis.workspace_logs import WorkspaceLogsProvider

END = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
START = END - timedelta(minutes=5)
LAW = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/kdap-prod-rg/providers/"
    "Microsoft.OperationalInsights/workspaces/kdap-prod-log"
)
PARAMS = {"logAnalyticsWorkspace": LAW, "adapter": "coding", "revision": "coding-3ccf03901b"}
FAST = RetryPolicy(attempts=3, base_delay=0.0, timeout_seconds=30.0)


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes = scopes
        return AccessToken("t0ken", 4_102_444_800)


def _rows(*rows: list[Any]) -> tuple[int, dict[str, Any]]:
    table = {"name": "PrimaryResult", "columns": [{"name": "value", "type": "real"}], "rows": list(rows)}
    return 200, {"tables": [table]}


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": message}}


class _Adapter(requests.adapters.BaseAdapter):
    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        status, body = self.answers.pop(0)
        raw = requests.Response()
        raw.status_code, raw.reason, raw.request, raw.url = status, "x", request, str(request.url)
        raw.headers["Content-Type"] = "application/json"
        raw._content = json.dumps(body).encode()
        raw.raw = urllib3.HTTPResponse(body=io.BytesIO(raw._content), status=status, preload_content=False)
        return raw

    def close(self) -> None: ...

    def sent(self, i: int = 0) -> dict[str, Any]:
        body = self.requests[i].body
        assert isinstance(body, bytes | str)
        loaded: dict[str, Any] = json.loads(body)
        return loaded


def _provider(adapter: _Adapter, token: _Token | None = None) -> WorkspaceLogsProvider:
    session = requests.Session()
    session.mount("https://", adapter)
    transport = RequestsTransport(session=session, session_owner=False)
    client = LogsQueryClient(token or _Token(), transport=transport, retry_total=0)
    return WorkspaceLogsProvider(client, FAST)


def test_tokens_per_request_reads_the_revisions_token_metric_from_the_workspace() -> None:
    token, adapter = _Token(), _Adapter(_rows([412.5]))
    value = _provider(adapter, token).query("completionTokensPerRequest", PARAMS, START, END)
    assert value.value == pytest.approx(412.5)
    sent = adapter.requests[0]
    assert (sent.method, sent.url) == ("POST", f"https://api.loganalytics.io/v1{LAW}/query")
    assert token.scopes == ("https://api.loganalytics.io/.default",)
    body = adapter.sent()
    assert body["timespan"] == "2026-11-30T05:55:00.000Z/2026-11-30T06:00:00.000Z"
    kql = body["query"]
    assert '| where Name == "Completion Tokens"' in kql
    assert '| where tostring(Properties["adapter"]) == "coding"' in kql
    assert '| where tostring(Properties["revision"]) == "coding-3ccf03901b"' in kql
    assert "todouble(total) / n" in kql


def test_request_rate_is_requests_per_minute_of_the_window() -> None:
    adapter = _Adapter(_rows([12.0]))
    assert _provider(adapter).query("requestRate", PARAMS, START, END).value == pytest.approx(12.0)
    kql = adapter.sent()["query"]
    assert '| where Name == "Total Tokens"' in kql
    assert "todouble(n) / 5," in kql  # a five-minute window


def test_no_request_counted_is_no_data_not_zero() -> None:
    value = _provider(_Adapter(_rows([None]))).query("tokensPerRequest", PARAMS, START, END)
    assert (value.value, value.message) == (None, "no data: the query returned no rows")


def test_other_queries_are_the_authors_kql_answering_one_row() -> None:
    kql = 'AppRequests | where Url has "/llm/" | summarize value = avg(DurationMs)'
    adapter = _Adapter(_rows([830.0]))
    assert _provider(adapter).query(kql, PARAMS, START, END).value == pytest.approx(830.0)
    assert adapter.sent()["query"] == f"{kql}\n| take 1"


def test_without_a_workspace_nothing_is_sent_and_the_message_says_where_it_comes_from() -> None:
    adapter = _Adapter()
    value = _provider(adapter).query("tokensPerRequest", {"adapter": "coding", "revision": "r"}, START, END)
    assert value.value is None
    assert value.message == (
        "log analytics: the target names no logAnalyticsWorkspaceId (the platform's handoff provides it; or "
        "set it in the target)"
    )
    assert adapter.requests == []


def test_a_named_query_without_an_adapter_is_refused_before_any_kql_is_built() -> None:
    adapter = _Adapter()
    params = {"logAnalyticsWorkspace": LAW, "revision": 'x" or 1 == 1'}
    value = _provider(adapter).query("tokensPerRequest", params, START, END)
    assert (
        value.message
        == "log analytics 'tokensPerRequest' reads one adapter's revision: it needs a serverless target"
    )
    assert adapter.requests == []


def test_throttling_is_retried_and_a_rejected_query_is_inconclusive_with_the_services_words() -> None:
    adapter = _Adapter(_error(429, "TooManyRequests", "slow down"), _rows([1.0]))
    assert _provider(adapter).query("tokensPerRequest", PARAMS, START, END).value == 1.0
    assert len(adapter.requests) == 2
    bad = _Adapter(_error(400, "BadArgumentError", "Query could not be parsed at 'summarize'"))
    value = _provider(bad).query("T | summarize", PARAMS, START, END)
    assert value.value is None
    assert value.message.startswith("log analytics rejected the query: ")
    assert "could not be parsed" in value.message
    assert len(bad.requests) == 1
