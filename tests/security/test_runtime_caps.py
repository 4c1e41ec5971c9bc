"""Findings 4, 5 and 9 (#13) at run time: what the operator reads and keeps is capped, each refusal naming
the limit. Prometheus answers (and 200s that are not Prometheus) over a real HTTP server, data files in a
local store and a fake Blob container, the live window's hour folders, the columns of a prediction-only
spec, text copied into status, and a server's Retry-After during a rollback."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modeldeploy.analysis import sources, stores
from modeldeploy.analysis.drift import profile_reference
from modeldeploy.analysis.prometheus import PrometheusProvider
from modeldeploy.analysis.run import check_metric
from modeldeploy.analysis.types import DriftConfig, FeatureConfig, MetricCheck, Verdict
from modeldeploy.api.status import MAX_STATUS_TEXT, AnalysisResult, Condition, ModelDeploymentStatus
from modeldeploy.backends.azureml.retry import call_with_retry
from modeldeploy.caps import MAX_HTTP_RESPONSE, MAX_LIVE_HOURS, LimitExceeded
from modeldeploy.retry import MAX_RETRY_AFTER, RetryPolicy
from tests.backends.azureml.fakes import http_error

T = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def answering() -> Iterator[dict[str, Any]]:
    """A real HTTP server on loopback whose 200 body the test sets."""
    reply: dict[str, Any] = {"body": b"", "type": "application/json"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", reply["type"])
            self.send_header("Content-Length", str(len(reply["body"])))
            self.end_headers()
            self.wfile.write(reply["body"])

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    reply["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield reply
    server.shutdown()
    server.server_close()


def _measure(url: str) -> Any:
    provider = PrometheusProvider(url, RetryPolicy(attempts=1))
    check = MetricCheck("err", "prometheus", "errorRate", max=0.1)
    return check_metric(check, {"prometheus": provider}, T - timedelta(minutes=5), T)


def test_a_prometheus_200_that_is_not_its_json_is_an_error_naming_the_address(
    answering: dict[str, Any],
) -> None:
    answering.update(body=b"<html>Sign in to continue</html>", type="text/html")
    outcome = _measure(answering["url"])  # raised JSONDecodeError through the reconcile before
    assert outcome.verdict is Verdict.ERROR
    assert "answered HTTP 200 with something other than the Prometheus query API's JSON" in outcome.message
    assert "analysis.prometheusAddress" in outcome.message
    answering.update(body=b'{"status": "success", "data": [1, 2]}', type="application/json")
    assert _measure(answering["url"]).verdict is Verdict.ERROR  # JSON, but not Prometheus's shape


def test_a_prometheus_answer_past_the_cap_is_refused_naming_it(answering: dict[str, Any]) -> None:
    answering["body"] = (
        b'{"data": {"resultType": "vector", "result": [' + b" " * (MAX_HTTP_RESPONSE + 10) + b"]}}"
    )
    outcome = _measure(answering["url"])
    assert outcome.verdict is Verdict.ERROR
    assert "larger than 1 MiB, the operator's limit" in outcome.message


def test_a_good_prometheus_answer_still_measures(answering: dict[str, Any]) -> None:
    answering["body"] = b'{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"0.02"]}]}}'
    outcome = _measure(answering["url"])
    assert outcome.verdict is Verdict.SUCCESSFUL
    assert outcome.value == 0.02


def test_a_local_data_file_past_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "MAX_DATA_FILE", 1000)
    big = tmp_path / "big.csv"
    big.write_text("x\n" + "1\n" * 1000)
    with pytest.raises(
        LimitExceeded, match=r"big\.csv is 2 KiB, larger than 1000 bytes, the operator's limit"
    ):
        stores.LocalStore(str(tmp_path)).read(str(big))


class _Download:
    def __init__(self, data: bytes, size: int | None) -> None:
        self.data, self.size = data, size
        self.read = False

    def readall(self) -> bytes:
        self.read = True
        return self.data


class _Container:
    def __init__(self, download: _Download) -> None:
        self.download = download

    def list_blobs(self, name_starts_with: str | None = None, **kwargs: Any) -> list[Any]:
        return []

    def download_blob(self, blob: str, **kwargs: Any) -> _Download:
        return self.download


def test_a_blob_past_the_cap_is_refused_before_a_byte_is_downloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "MAX_DATA_FILE", 1000)
    download = _Download(b"", size=5 * 1024 * 1024 * 1024)  # a 5 GiB blob
    store = stores.BlobStore(_Container(download), "https://acct.blob.core.windows.net/data")
    with pytest.raises(LimitExceeded, match="larger than 1000 bytes, the operator's limit"):
        store.read("live/huge.parquet")
    assert not download.read


def test_all_files_of_a_window_together_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_DATA_TOTAL", 100)
    for i in range(5):
        (tmp_path / f"part-{i}.csv").write_text("x\n" + "1\n" * 20)
    source = sources.StoreSource(stores.LocalStore(str(tmp_path)), str(tmp_path), "csv")
    with pytest.raises(LimitExceeded, match=r"the data files of one window .* larger than 100 bytes"):
        source.load(None, None)


def test_a_live_window_of_a_year_does_not_list_a_folder_per_hour() -> None:
    collector = sources.DataCollectorSource(stores.LocalStore(), "/data/model_inputs")
    assert len(collector.hours(T - timedelta(hours=MAX_LIVE_HOURS), T)) == MAX_LIVE_HOURS
    with pytest.raises(LimitExceeded, match=f"more than {MAX_LIVE_HOURS}, the operator's limit"):
        collector.hours(T - timedelta(days=365), T)


def test_a_prediction_only_spec_does_not_test_every_column_of_the_reference() -> None:
    rng = np.random.default_rng(0)
    reference = {f"c{i}": rng.normal(size=50) for i in range(300)} | {"prediction": rng.normal(size=50)}
    config = DriftConfig(prediction_features=(FeatureConfig("prediction"),))
    with pytest.raises(LimitExceeded, match="300 columns to test: more than 256, the operator's limit"):
        profile_reference(config, reference)


def test_text_copied_into_status_is_cut_with_a_marker() -> None:
    leaked = "root:x:0:0:root:/root:/bin/bash\n" * 2000  # e.g. a parser error echoing a file
    status = ModelDeploymentStatus(
        message=leaked,
        last_analysis=AnalysisResult(revision="r", message=leaked),
        conditions=[Condition(type="BackendHealthy", message=leaked)],
    ).bounded()
    assert status.last_analysis is not None
    for text in (status.message, status.last_analysis.message, status.conditions[0].message):
        assert len(text) <= MAX_STATUS_TEXT
        assert text.endswith(f"; limit {MAX_STATUS_TEXT}]")
        assert "truncated" in text
    assert status.bounded() == status, "idempotent"


def test_a_huge_retry_after_is_capped_so_a_rollback_is_not_held() -> None:
    """Removing a failed revision's traffic is retried inside one reconcile: an hour's Retry-After held
    the failed revision's traffic (and a worker) for an hour."""
    slept: list[float] = []
    errors = [http_error(429, "TooManyRequests", "slow down", retry_after="3600")]

    def set_traffic() -> str:
        if errors:
            raise errors.pop()
        return "stable 100%"

    policy = RetryPolicy(attempts=3, base_delay=1.0, sleep=slept.append)
    assert call_with_retry(policy, "set traffic", set_traffic) == "stable 100%"
    assert slept == [MAX_RETRY_AFTER]
    assert RetryPolicy().delay(1, retry_after=7.0) == 7.0, "a reasonable Retry-After is still honoured"
