"""The demo's world: its data, a model-traffic exporter, Prometheus and the operator as processes, and the
check that nothing it started is left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, cast

import numpy as np
import yaml
from kubernetes import client
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from localkube.cluster import die_with_parent

NS = "demo"


# ---- data ------------------------------------------------------------------------------------------------


def write_data(data_dir: Path, rows: int = 3000, churn_live_rows: int = 3000) -> None:
    """Training (reference) and served (live) inputs: the fraud scorer's live data comes from the same
    distributions; the churn predictor's has drifted (longer tenure, higher charges, a new plan mix).
    ``churn_live_rows``: enough rows (70,000: 1.3 MiB) put its live window over the demo's 1 MiB pushdown
    limit, so that analysis runs as a local Spark job."""
    rng = np.random.default_rng(20250301)

    def fraud(n: int) -> dict[str, Any]:
        return {
            "amount": rng.lognormal(3.5, 0.8, n).round(2),
            "account_age_days": rng.gamma(2.0, 200.0, n).round(0),
            "merchant_category": rng.choice(
                ["grocery", "travel", "online", "fuel"], n, p=[0.4, 0.1, 0.4, 0.1]
            ),
        }

    def churn(n: int, drifted: bool) -> dict[str, Any]:
        plans = ["basic", "plus", "premium", "family"]
        return {
            "tenure_months": rng.gamma(2.0, 18.0 if drifted else 10.0, n).round(0),
            "monthly_charges": rng.normal(82.0 if drifted else 60.0, 15.0, n).round(2),
            "support_calls": rng.poisson(2.5 if drifted else 1.0, n),
            "plan": rng.choice(plans, n, p=[0.1, 0.2, 0.3, 0.4] if drifted else [0.4, 0.3, 0.2, 0.1]),
        }

    for name, ref, live in (
        ("fraud-scorer", fraud(rows), fraud(rows)),
        ("churn-predictor", churn(rows, False), churn(churn_live_rows, True)),
    ):
        d = data_dir / name
        d.mkdir(parents=True, exist_ok=True)
        for fname, cols in (("reference.csv", ref), ("live.csv", live)):
            keys = list(cols)
            n = len(cols[keys[0]])
            lines = [",".join(keys)] + [",".join(str(cols[k][i]) for k in keys) for i in range(n)]
            (d / fname).write_text("\n".join(lines) + "\n")


# ---- model traffic ---------------------------------------------------------------------------------------


class TrafficExporter:
    """Simulated requests to each revision, split by the live weights in each ModelDeployment's status, as
    ``http_requests_total`` / ``http_request_duration_seconds`` with the namespace and revision labels the
    operator's built-in queries select on."""

    def __init__(self, custom: client.CustomObjectsApi, rps: float = 200.0) -> None:
        self.custom, self.rps = custom, rps
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "Requests served.", ["namespace", "revision", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Request latency.",
            ["namespace", "revision"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.stop = threading.Event()
        self.rng = np.random.default_rng(7)
        self.port = 0
        self.server: Any = None

    def start(self) -> int:
        self.server, _ = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self._run, name="traffic", daemon=True).start()
        return self.port

    def _weights(self) -> dict[str, int]:
        out: dict[str, int] = {}
        items = cast(
            dict[str, Any],
            self.custom.list_namespaced_custom_object("mlops.kdap.io", "v1alpha1", NS, "modeldeployments"),
        )
        for md in items["items"]:
            st = md.get("status") or {}
            out.update((st.get("traffic") or {}).get("weights") or {})
            cand = (st.get("candidate") or {}).get("name")
            if cand:
                out.setdefault(
                    cand, 0
                )  # counters exist (at 0) before the first weight: rate() needs two samples
        return out

    def _run(self) -> None:
        while not self.stop.wait(0.25):
            try:
                weights = self._weights()
            except Exception:  # the apiserver going away at teardown is not worth a traceback
                continue
            for rev, w in weights.items():
                n = int(self.rng.poisson(self.rps * 0.25 * w / 100))
                errors = int(self.rng.binomial(n, 0.003))
                self.requests.labels(NS, rev, "200").inc(n - errors)
                self.requests.labels(NS, rev, "500").inc(errors)
                for v in self.rng.lognormal(np.log(0.06), 0.4, min(n, 200)):
                    self.latency.labels(NS, rev).observe(float(v))

    def close(self) -> None:
        self.stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# ---- processes ------------------------------------------------------------------------------------------


def free_port() -> int:
    from localkube.cluster import free_port

    return free_port()


def start_prometheus(work: Path, targets: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise SystemExit("prometheus is not installed: run `make sysdeps` (Debian package prometheus)")
    port = free_port()
    cfg = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "demo", "honor_labels": True, "static_configs": [{"targets": targets}]}
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/-/ready", proc, "prometheus", log)
    return proc, url


def start_operator(
    kubeconfig: Path, metrics_port: int, log: Path, data_dir: Path, spark_dir: Path | None = None
) -> subprocess.Popen[bytes]:
    """``spark_dir``: drift windows over 1 MiB run as local Spark jobs working there."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
    args = ["--namespace", NS, "--standalone", "--liveness=", f"--metrics-port={metrics_port}"]
    args.append(f"--data-root={data_dir}")  # the demo's reference and live data are local files
    if spark_dir is not None:
        args += ["--drift-pushdown-mib=1", f"--spark-local-dir={spark_dir}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "modeldeploy", "operator", *args, "--metrics-addr=127.0.0.1"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    wait_http(f"http://127.0.0.1:{metrics_port}/metrics", proc, "operator", log)
    return proc


def spark_missing() -> str | None:
    """Why local Spark cannot run here (pyspark needs a Java runtime), or None."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (make setup)"
    if shutil.which("java") is None:
        return "no Java runtime for pyspark (make sysdeps: openjdk-17-jre-headless)"
    return None


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited ({proc.returncode}); its log:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).read()
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url} within {timeout:g}s; see {log}")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def leftovers(pids: list[int]) -> list[int]:
    """PIDs we started that still run, and any child of this process that is not a zombie being reaped."""
    alive = [p for p in pids if Path(f"/proc/{p}").exists() and _state(p) not in ("Z", "X", "")]
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == me and fields[0] not in ("Z", "X"):
                alive.append(int(stat.parent.name))
    return sorted(set(alive))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""
