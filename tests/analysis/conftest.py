"""A real Prometheus server scraping a metrics endpoint the test serves (counter + histogram it controls)."""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

PROMETHEUS = Path("/usr/bin/prometheus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    address: str
    requests: Counter
    latency: Histogram


def _traffic(requests: Counter, latency: Histogram, stop: threading.Event) -> None:
    """A steady 100 requests per second, 5% of them 5xx, latencies 10 ms or 300 ms (1 in 20)."""
    i = 0
    while not stop.is_set():
        for _ in range(10):
            i += 1
            requests.labels(code="500" if i % 20 == 0 else "200").inc()
            latency.observe(0.3 if i % 20 == 0 else 0.01)
        stop.wait(0.1)


@pytest.fixture(scope="session")
def prometheus() -> Iterator[Served]:
    if not PROMETHEUS.exists():
        pytest.fail("/usr/bin/prometheus is missing: run `make sysdeps` (Debian package prometheus)")
    registry = CollectorRegistry()
    requests = Counter("http_requests", "requests", ["code"], registry=registry)
    latency = Histogram(
        "http_request_duration_seconds",
        "latency",
        buckets=(0.005, 0.02, 0.1, 0.25, 0.5, 1.0),
        registry=registry,
    )
    target_port, prom_port = _free_port(), _free_port()
    server, thread = start_http_server(target_port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()
    feeder = threading.Thread(target=_traffic, args=(requests, latency, stop), daemon=True)
    feeder.start()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "prometheus.yml"
        cfg.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs: [{job_name: app, static_configs: "
            f"[{{targets: ['127.0.0.1:{target_port}']}}]}}]\n"
        )
        args = [
            str(PROMETHEUS), f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/data",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ]  # fmt: skip
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            address = f"http://127.0.0.1:{prom_port}"
            _wait_for_samples(address, proc)
            yield Served(address, requests, latency)
        finally:
            stop.set()
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            server.shutdown()
            thread.join(timeout=5)


def _wait_for_samples(address: str, proc: subprocess.Popen[bytes]) -> None:
    """Until rate() over 10s has at least two scrapes to work with; fails with the reason otherwise."""
    query = "count_over_time(http_requests_total[30s])"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"prometheus exited with {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{address}/api/v1/query?query={query}", timeout=2) as resp:
                result = json.load(resp)["data"]["result"]
            if result and min(float(r["value"][1]) for r in result) >= 4:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail("prometheus did not scrape the test endpoint within 60 s")
