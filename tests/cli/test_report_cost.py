"""The report's cost section through `kubectl mdep report`, with the real Cost Management and Azure Monitor
clients over fake transports: the figures `kubectl mdep cost` prints, or one line saying why not."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.cli import cost, kube, main, recommend
from tests.cli.test_cost import FORECAST, QUERY, SUB, _Adapter, _client, _result
from tests.cli.test_recommend import HOURS, body, metrics_client, series

# Per revision, in the order the adapters are asked: stable serves at low CPU, the candidate gets nothing.
MONITOR = (
    (200, series("RequestsPerMinute", "total", [120.0] * HOURS)),
    (200, series("CpuUtilizationPercentage", "average", [8.0] * 150 + [22.0] * 18)),
    (200, series("RequestsPerMinute", "total", [0.0] * HOURS)),
)


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """The ModelDeployments `kube.get` answers with, by name (no apiserver)."""
    objects: dict[str, dict[str, Any]] = {}
    fake = kube.Cluster.__new__(kube.Cluster)
    fake.namespace = "ml-serving"
    monkeypatch.setattr(kube, "connect", lambda *args: fake)
    monkeypatch.setattr(kube, "get", lambda c, name: objects[name])
    monkeypatch.setattr(kube, "events", lambda c, b: [])
    return objects


def _azure(monkeypatch: pytest.MonkeyPatch, costs: _Adapter, monitor: _Adapter) -> None:
    monkeypatch.setattr(cost, "default_client", lambda sub: _client(costs))
    monkeypatch.setattr(recommend, "default_metrics", lambda sub: metrics_client(monitor))


def _report(tmp_path: Path, *argv: str) -> str:
    out = tmp_path / "r.html"
    assert main(["report", *argv, "-o", str(out)]) == 0
    return out.read_text()


def _cost_rows(html: str) -> list[list[str]]:
    table = html.split("<h3>Cost this month</h3>", 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)]


def test_the_report_shows_the_figures_and_advice_the_cost_command_prints(
    cluster: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    cluster["fraud"] = body()
    _azure(monkeypatch, _Adapter((200, QUERY), (200, FORECAST)), _Adapter(*MONITOR))
    html = _report(tmp_path, "fraud")
    assert _cost_rows(html) == [
        ["revision", "role", "month-to-date"],
        ["fraud-3f2a", "stable", "120.50 EUR"],
        ["fraud-91c0", "candidate", "30.25 EUR"],
        ["(no revision)", "-", "4.00 EUR"],
        ["total", "", "154.75 EUR"],
    ]
    assert "<p>Forecast for the month (whole deployment): <b>240.00 EUR</b></p>" in html
    advice = re.findall(r"<li><b>([^<]+)</b> ([^<]+)</li>", html)
    assert [kind for kind, _ in advice] == ["over-provisioned", "idle"]

    # The same answers through `kubectl mdep cost -o json`: the same figures and the same advice.
    _azure(monkeypatch, _Adapter((200, QUERY), (200, FORECAST)), _Adapter(*MONITOR))
    capsys.readouterr()
    assert main(["cost", "fraud", "-o", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["byRevision"] == {"fraud-3f2a": 120.5, "fraud-91c0": 30.25, "(no revision)": 4.0}
    assert (printed["monthToDate"], printed["forecast"]) == (154.75, 240.0)
    assert [(r["kind"], r["message"]) for r in printed["recommendations"]] == advice


def test_a_kubernetes_target_gets_one_line_and_no_azure_query(
    cluster: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cluster["fraud"] = body()
    cluster["fraud"]["spec"]["target"] = {"type": "kubernetes", "kubernetes": {}}
    monkeypatch.setattr(cost, "default_client", lambda sub: pytest.fail("no Azure query for kubernetes"))
    html = _report(tmp_path, "fraud")
    assert "Cost this month" not in html
    assert (
        '<p class="muted">No cost figures: it does not run on Azure ML (target.type is not azureml), so it '
        "has no Azure cost</p>" in html
    )


def test_a_refused_query_is_said_in_the_report_which_is_still_written(
    cluster: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cluster["fraud"] = body()
    refused = (403, {"error": {"code": "AuthorizationFailed", "message": "no Cost Management Reader"}})
    _azure(monkeypatch, _Adapter(refused), _Adapter())
    html = _report(tmp_path, "fraud")
    assert "Cost this month" not in html
    line = re.search(r'<p class="muted">No cost figures: ([^<]*)</p>', html)
    assert line is not None
    assert line.group(1).startswith(
        f"Cost Management refused the query on /subscriptions/{SUB}/resourceGroups/kdap-prod-rg: "
    )
    assert "AuthorizationFailed" in line.group(1)
    assert "<h3>Rollout timeline</h3>" in html  # the rest of the report is there


def test_unreadable_monitor_history_keeps_the_figures_and_says_why_there_is_no_advice(
    cluster: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cluster["fraud"] = body()
    throttled = (429, {"error": {"code": "TooManyRequests", "message": "slow down"}})
    _azure(monkeypatch, _Adapter((200, QUERY), (200, FORECAST)), _Adapter(throttled))
    html = _report(tmp_path, "fraud")
    assert _cost_rows(html)[-1] == ["total", "", "154.75 EUR"]
    assert "<h4>Recommendations</h4>" not in html
    assert re.search(
        r'<p class="muted">no recommendations: Azure Monitor could not be read \(\w+Error: ', html
    )


def test_no_cost_asks_nothing_and_shows_no_cost_section(
    cluster: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cluster["fraud"] = body()
    monkeypatch.setattr(cost, "default_client", lambda sub: pytest.fail("--no-cost queries nothing"))
    html = _report(tmp_path, "fraud", "--no-cost")
    assert "Cost this month" not in html
    assert "No cost figures" not in html
    assert "<h3>Rollout timeline</h3>" in html


HOSTILE = '<script>alert("x")</script>&'


def test_names_and_values_from_azure_and_the_spec_are_escaped(
    cluster: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cluster["fraud"] = body()
    cluster["fraud"]["status"]["candidate"]["name"] = HOSTILE
    query = _result(
        [("Cost", "Number"), ("TagKey", "String"), ("TagValue", "String"), ("Currency", "String")],
        [
            [12.0, "kdap-revision", HOSTILE, "<b>EUR</b>"],
            [3.0, "kdap-revision", "fraud-3f2a", "<b>EUR</b>"],
        ],
    )
    idle = (200, series("RequestsPerMinute", "total", [0.0] * HOURS))
    _azure(monkeypatch, _Adapter((200, query), (200, FORECAST)), _Adapter(idle, idle))
    html = _report(tmp_path, "fraud")
    assert "<script" not in html
    assert "<b>EUR</b>" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"
    assert _cost_rows(html)[1] == [escaped, "candidate", "12.00 &lt;b&gt;EUR&lt;/b&gt;"]
    advice = re.findall(r"<li><b>idle</b> ([^<]+)</li>", html)
    assert len(advice) == 2
    assert advice[1].startswith(f"{escaped}: no requests in 7 days (it cost 12.00 &lt;b&gt;EUR&lt;/b&gt;")
