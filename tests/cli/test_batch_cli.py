"""``kubectl mdep run``: what it writes into status, how it reads the answer, and the status view's runs."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from modeldeploy.cli import batch, kube
from modeldeploy.cli.errors import CliError


class Recorded:
    def __init__(self, result: str) -> None:
        self.result = result
        self.patches: list[dict[str, Any]] = []
        self.handled_key: Any = None

    def send(self, cluster: Any, name: str, action: str, check: Any, status: Any) -> tuple[str, Any]:
        check({"metadata": {"name": name}, "spec": {"batch": {"output": {}}}})
        self.patches.append(status("id-1", "2026-11-30T02:00:00Z"))
        return "id-1", {}

    def wait(self, cluster: Any, name: str, request_id: str, timeout: float, handled: Any) -> dict[str, Any]:
        status = {"batch": {"lastHandledRunId": request_id, "lastHandledRunResult": self.result}}
        self.handled_key = handled(status)
        return {"status": status}


def _args(**extra: Any) -> argparse.Namespace:
    return argparse.Namespace(name="churn", input=None, no_wait=False, timeout=5.0, **extra)


def test_run_writes_a_run_request_and_reports_the_result(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    rec = Recorded("started run churn-m-0123456789")
    monkeypatch.setattr(kube, "send_request", rec.send)
    monkeypatch.setattr(kube, "wait_handled", rec.wait)
    cluster = kube.Cluster.__new__(kube.Cluster)
    cluster.namespace = "ml"
    args = _args()
    args.input = "file:///data/adhoc/"
    assert batch.run(cluster, args) == 0
    assert rec.patches == [
        {
            "batch": {
                "runRequest": {
                    "id": "id-1",
                    "requestedAt": "2026-11-30T02:00:00Z",
                    "input": "file:///data/adhoc/",
                }
            }
        }
    ]
    assert rec.handled_key == "id-1"
    assert capsys.readouterr().out.splitlines()[-1] == "started run churn-m-0123456789"


def test_a_refused_run_exits_4(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorded('refused: local path "/etc" is not granted')
    monkeypatch.setattr(kube, "send_request", rec.send)
    monkeypatch.setattr(kube, "wait_handled", rec.wait)
    cluster = kube.Cluster.__new__(kube.Cluster)
    cluster.namespace = "ml"
    assert batch.run(cluster, _args()) == 4
    assert rec.patches[0] == {"batch": {"runRequest": {"id": "id-1", "requestedAt": "2026-11-30T02:00:00Z"}}}


def test_run_on_an_online_model_is_refused_with_code_2() -> None:
    with pytest.raises(CliError, match="budget is an online model") as err:
        batch._is_batch({"metadata": {"name": "budget"}, "spec": {"strategy": {"type": "canary"}}})
    assert err.value.code == 2


T0, T1 = "2026-11-30T02:00:00Z", "2026-11-30T02:01:00Z"


def test_status_lines_show_the_comparison_and_runs_newest_first() -> None:
    body = {
        "status": {
            "batch": {
                "comparison": {"candidate": "c-2", "stable": "c-1", "verdict": "Failed", "stableRows": 10,
                               "candidateRows": 10, "message": "predictions differ"},
                "watermark": "0001.csv",
                "runs": [
                    {"name": "churn-m-1", "phase": "Succeeded", "trigger": "manual", "createdAt": T0},
                    {"name": "churn-d-2", "phase": "Running", "trigger": "dataArrival", "createdAt": T1},
                ],
            }
        }
    }  # fmt: skip
    lines = batch.status_lines(body)
    assert lines[0] == "Compared:   c-2 vs c-1: Failed (rows 10 -> 10)"
    assert lines[2] == "Watermark:  0001.csv"
    assert [line.split()[0] for line in lines[4:]] == ["churn-d-2", "churn-m-1"]
