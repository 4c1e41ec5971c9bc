"""`kubectl mdep cost`: the real azure-mgmt-costmanagement client over a transport that answers from a list
(no network): what it asks Cost Management for, and how the answer becomes cost per revision and forecast."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.costmanagement import CostManagementClient

from modeldeploy.cli.cost import UNTAGGED, cost_of, render_cost
from modeldeploy.cli.errors import CliError

SUB = "00000000-0000-4000-8000-000000000001"
SCOPE = f"/subscriptions/{SUB}/resourceGroups/kdap-prod-rg"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("t0ken", 4_102_444_800)


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


def _client(adapter: _Adapter) -> CostManagementClient:
    session = requests.Session()
    session.mount("https://", adapter)
    transport = RequestsTransport(session=session, session_owner=False)
    return CostManagementClient(_Token(), transport=transport)  # type: ignore[arg-type]


def _result(columns: list[tuple[str, str]], rows: list[list[Any]]) -> dict[str, Any]:
    return {
        "id": "q",
        "name": "q",
        "type": "Microsoft.CostManagement/query",
        "properties": {"columns": [{"name": n, "type": t} for n, t in columns], "rows": rows},
    }


QUERY = _result(
    [("Cost", "Number"), ("TagKey", "String"), ("TagValue", "String"), ("Currency", "String")],
    [
        [120.5, "kdap.io/revision", "fraud-3f2a", "EUR"],
        [30.25, "kdap.io/revision", "fraud-91c0", "EUR"],
        [4.0, "", "", "EUR"],  # the endpoint shell: tagged for the deployment, not for a revision
    ],
)
FORECAST = _result(
    [("Cost", "Number"), ("UsageDate", "Number"), ("CostStatus", "String"), ("Currency", "String")],
    [[150.0, 20261101, "Actual", "EUR"], [90.0, 20261130, "Forecast", "EUR"]],
)


def _body(target: dict[str, Any] | None = None) -> dict[str, Any]:
    azureml = {"subscriptionId": SUB, "resourceGroup": "kdap-prod-rg", "workspace": "kdap-prod-mlw"}
    return {
        "metadata": {"namespace": "ml-serving", "name": "fraud"},
        "spec": {"target": target or {"type": "azureml", "azureml": azureml}},
    }


def test_cost_per_revision_and_forecast_from_the_real_client() -> None:
    adapter = _Adapter((200, QUERY), (200, FORECAST))
    report = cost_of(_body(), lambda sub: _client(adapter), NOW)
    assert report.by_revision == {"fraud-3f2a": 120.5, "fraud-91c0": 30.25, UNTAGGED: 4.0}
    assert report.month_to_date == 154.75
    assert report.forecast == 240.0
    assert report.currency == "EUR"
    query, forecast = adapter.requests
    assert query.method == forecast.method == "POST"
    assert query.url is not None
    assert query.url.startswith(
        f"https://management.azure.com{SCOPE}/providers/Microsoft.CostManagement/query"
    )
    assert forecast.url is not None
    assert "/providers/Microsoft.CostManagement/forecast" in forecast.url
    assert query.headers["Authorization"] == "Bearer t0ken"
    sent = json.loads(query.body or b"")
    assert (sent["type"], sent["timeframe"]) == ("ActualCost", "MonthToDate")
    assert sent["dataset"]["grouping"] == [{"type": "TagKey", "name": "kdap.io/revision"}]
    tag = {"name": "modeldeployment", "operator": "In", "values": ["ml-serving/fraud"]}
    assert sent["dataset"]["filter"]["tags"] == tag
    predicted = json.loads(forecast.body or b"")
    assert predicted["dataset"]["filter"]["tags"] == tag
    assert predicted["timePeriod"]["from"].startswith("2026-11-01T00:00:00")
    assert predicted["timePeriod"]["to"].startswith("2026-11-30T23:59:59")
    assert predicted["includeActualCost"] is True


def test_the_text_view_lists_revisions_by_cost_with_total_and_forecast() -> None:
    adapter = _Adapter((200, QUERY), (200, FORECAST))
    text = render_cost(cost_of(_body(), lambda sub: _client(adapter), NOW))
    lines = text.splitlines()
    assert lines[0] == f"ml-serving/fraud in {SCOPE}"
    assert lines[2].startswith("fraud-3f2a")
    assert lines[2].endswith("120.50 EUR")
    assert lines[-2].startswith("total")
    assert lines[-2].endswith("154.75 EUR")
    assert lines[-1] == "forecast for the month: 240.00 EUR"


def test_a_refused_query_is_one_line_naming_the_scope() -> None:
    adapter = _Adapter(
        (403, {"error": {"code": "AuthorizationFailed", "message": "no Cost Management Reader"}})
    )
    with pytest.raises(
        CliError, match=r"Cost Management refused the query on /subscriptions/.*AuthorizationFailed"
    ):
        cost_of(_body(), lambda sub: _client(adapter), NOW)


def test_a_kubernetes_target_has_no_azure_cost() -> None:
    with pytest.raises(CliError, match="does not run on Azure ML"):
        cost_of(_body({"type": "kubernetes", "kubernetes": {}}), lambda sub: None, NOW)


def test_a_spec_that_leaves_azure_names_to_the_platform_is_costed_where_the_operator_pinned_it() -> None:
    body = _body({"type": "azureml", "azureml": {"instanceType": "Standard_DS3_v2"}})
    with pytest.raises(CliError, match=r"the operator has not recorded them yet \(status.platformDefaults\)"):
        cost_of(body, lambda sub: pytest.fail("no query without a scope"), NOW)
    body["status"] = {"platformDefaults": {"subscriptionId": SUB, "resourceGroup": "kdap-prod-rg"}}
    adapter = _Adapter((200, QUERY), (200, FORECAST))
    assert cost_of(body, lambda sub: _client(adapter), NOW).month_to_date == 154.75
    assert adapter.requests[0].url is not None
    assert adapter.requests[0].url.startswith(f"https://management.azure.com{SCOPE}/providers/")
