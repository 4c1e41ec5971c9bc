"""``python -m modeldeploy.demo`` (``make demo``): two rollouts on a real local control plane, end to end.

It starts localkube, the operator (with its metrics endpoint), a model-traffic exporter and Debian's
Prometheus scraping both; applies the two ModelDeployments in examples/demo/ (each first at a stable version,
then upgraded the way a Git commit would); shows their progress live; writes out/report.html; and tears
everything down in ``finally``, checking that no process it started is left.

The output directory is ``$KDAP_DEMO_OUT`` (default ``out/``). After a run that got as far as teardown,
``summary.json`` there says, machine-readably, how it went (see ``summary``); a run that failed earlier leaves
none (a stale one is removed at the start).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import yaml
from kubernetes import client, config
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from localkube.cluster import die_with_parent
from modeldeploy.cli import render
from modeldeploy.report import write_report

ROOT = Path(__file__).resolve().parents[2]
NS = "demo"
EXAMPLES = {"fraud-scorer": "fraud-scorer-canary.yaml", "churn-predictor": "churn-predictor-drift.yaml"}
STABLE = {"fraud-scorer": "1.9.0", "churn-predictor": "3.0.2"}
EXPECTED = {"fraud-scorer": "Promoted", "churn-predictor": "RolledBack"}
TIMEOUT = 150.0
GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "gateways"},
    "spec": {"gatewayClassName": "demo", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
}


# ---- data ------------------------------------------------------------------------------------------------


def write_data(data_dir: Path, rows: int = 3000) -> None:
    """Training (reference) and served (live) inputs: the fraud scorer's live data comes from the same
    distributions; the churn predictor's has drifted (longer tenure, higher charges, a new plan mix)."""
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
        ("churn-predictor", churn(rows, False), churn(rows, True)),
    ):
        d = data_dir / name
        d.mkdir(parents=True, exist_ok=True)
        for fname, cols in (("reference.csv", ref), ("live.csv", live)):
            keys = list(cols)
            lines = [",".join(keys)] + [",".join(str(cols[k][i]) for k in keys) for i in range(rows)]
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


def _free_port() -> int:
    from localkube.cluster import free_port

    return free_port()


def start_prometheus(work: Path, targets: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise SystemExit("prometheus is not installed: run `make sysdeps` (Debian package prometheus)")
    port = _free_port()
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
    _wait_http(f"{url}/-/ready", proc, "prometheus", log)
    return proc, url


def start_operator(kubeconfig: Path, metrics_port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
    args = ["--namespace", NS, "--standalone", "--liveness=", f"--metrics-port={metrics_port}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "modeldeploy", "operator", *args, "--metrics-addr=127.0.0.1"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    _wait_http(f"http://127.0.0.1:{metrics_port}/metrics", proc, "operator", log)
    return proc


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
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


# ---- the show -------------------------------------------------------------------------------------------


def manifest(name: str, prometheus: str, data_dir: Path, version: str | None = None) -> dict[str, Any]:
    text = (ROOT / "examples" / "demo" / EXAMPLES[name]).read_text()
    body: dict[str, Any] = yaml.safe_load(
        text.replace("${PROMETHEUS_URL}", prometheus).replace("${DATA_DIR}", str(data_dir))
    )
    if version is not None:  # the release before the one Git now holds
        new = body["spec"]["model"]["version"]
        body["spec"]["model"]["version"] = version
        body["spec"]["model"]["artifactUri"] = body["spec"]["model"]["artifactUri"].replace(new, version)
        k8s = body["spec"]["target"]["kubernetes"]
        k8s["image"] = k8s["image"].rsplit(":", 1)[0] + ":" + version
    return body


def apply(custom: client.CustomObjectsApi, body: dict[str, Any]) -> None:
    name = body["metadata"]["name"]
    try:
        current = cast(
            dict[str, Any],
            custom.get_namespaced_custom_object("mlops.kdap.io", "v1alpha1", NS, "modeldeployments", name),
        )
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        custom.create_namespaced_custom_object("mlops.kdap.io", "v1alpha1", NS, "modeldeployments", body)
        return
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    custom.replace_namespaced_custom_object("mlops.kdap.io", "v1alpha1", NS, "modeldeployments", name, body)


class Screen:
    """A compact table refreshed every second: redrawn in place on a terminal, printed on change otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.last = ""

    def show(self, title: str, items: list[dict[str, Any]], events: list[str]) -> None:
        text = f"{title}\n\n{render.list_view(items, render.now_utc(), False)}\n\n" + "\n".join(events[-8:])
        if self.tty:
            print("\x1b[H\x1b[2J" + text, flush=True)
        elif text != self.last:
            print(text + "\n", flush=True)
        self.last = text


def _events(core: client.CoreV1Api) -> list[str]:
    # the rollouts' own events; the ReplicaSet/Pod chatter of the revisions would crowd them out
    items = [e for e in core.list_namespaced_event(NS).items if e.involved_object.kind == "ModelDeployment"]
    items.sort(key=lambda e: str(e.last_timestamp or e.event_time or ""))
    return [
        f"  {e.involved_object.name:<16} {e.type:<8} {e.reason:<22} {(e.message or '')[:80]}" for e in items
    ]


def watch(
    custom: client.CustomObjectsApi, core: client.CoreV1Api, screen: Screen, title: str, done: Any
) -> list[dict[str, Any]]:
    end = time.monotonic() + TIMEOUT
    while True:
        listed = cast(
            dict[str, Any],
            custom.list_namespaced_custom_object("mlops.kdap.io", "v1alpha1", NS, "modeldeployments"),
        )
        items: list[dict[str, Any]] = listed["items"]
        items.sort(key=lambda b: b["metadata"]["name"])
        screen.show(title, items, _events(core))
        if done(items):
            return list(items)
        if time.monotonic() > end:
            raise SystemExit(
                f"timed out after {TIMEOUT:g}s: {json.dumps([i.get('status') for i in items])[:3000]}"
            )
        time.sleep(1.0)


def _settled(expected: dict[str, str]) -> Any:
    def check(items: list[dict[str, Any]]) -> bool:
        by = {i["metadata"]["name"]: i.get("status") or {} for i in items}
        return all(
            by.get(n, {}).get("phase") == p and (p != "Promoted" or not by[n].get("candidate"))
            for n, p in expected.items()
        )

    return check


def _query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    result: list[dict[str, Any]] = json.loads(urllib.request.urlopen(url, timeout=5).read())["data"]["result"]
    return result


@contextlib.contextmanager
def local_cluster(work: Path) -> Iterator[Any]:
    from localkube.binaries import ensure_binaries
    from localkube.cluster import LocalCluster

    cluster = LocalCluster(run_dir=work / "localkube", binaries=ensure_binaries(), nodes=2, attached=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> None:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    out = subprocess.run(
        ["kubectl", *args], input=input, capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")


def drifting_features(item: dict[str, Any]) -> list[str]:
    """The features the last analysis found drifting (the ones the report plots)."""
    analysis = (item.get("status") or {}).get("lastAnalysis") or {}
    return [f["feature"] for f in analysis.get("drift") or [] if f.get("verdict") == "Failed"]


def summary(
    final: list[dict[str, Any]], report: Path | None, left: list[int], seconds: float
) -> dict[str, Any]:
    """``summary.json``: ``ok`` is true when every rollout ended as expected, the report was written and no
    process was left behind."""
    phases = {i["metadata"]["name"]: (i.get("status") or {}).get("phase") for i in final}
    return {
        "ok": phases == EXPECTED and report is not None and not left,
        "expected": EXPECTED,
        "phases": phases,
        "drifting": {i["metadata"]["name"]: drifting_features(i) for i in final},
        "report": str(report) if report is not None else None,
        "processesLeft": left,
        "seconds": round(seconds, 1),
    }


def run(out_dir: Path) -> int:
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").unlink(missing_ok=True)
    final: list[dict[str, Any]] = []
    report: Path | None = None
    work = Path(tempfile.mkdtemp(prefix="kdap-demo-"))
    data_dir = out_dir / "demo-data"
    write_data(data_dir)
    procs: list[subprocess.Popen[bytes]] = []
    exporter: TrafficExporter | None = None
    try:
        print("starting the local control plane ...", flush=True)
        with local_cluster(work) as cluster:
            kc = cluster.kubeconfig
            kubectl(
                kc, "apply", "--server-side", "-f", str(ROOT / "crds" / "modeldeployments.mlops.kdap.io.yaml")
            )
            kubectl(kc, "apply", "-f", str(ROOT / "deploy" / "crds" / "kopf-peering.yaml"))
            kubectl(
                kc,
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/modeldeployments.mlops.kdap.io",
            )
            kubectl(kc, "create", "namespace", "gateways")
            kubectl(kc, "create", "namespace", NS)
            kubectl(kc, "apply", "-f", "-", input=json.dumps(GATEWAY))
            api = config.new_client_from_config(config_file=str(kc))  # type: ignore[no-untyped-call]
            custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)

            exporter = TrafficExporter(custom)
            traffic_port = exporter.start()
            op_port = _free_port()
            print("starting the operator and Prometheus ...", flush=True)
            procs.append(start_operator(kc, op_port, out_dir / "demo-operator.log"))
            prom, prom_url = start_prometheus(
                work, [f"127.0.0.1:{traffic_port}", f"127.0.0.1:{op_port}"], out_dir / "demo-prometheus.log"
            )
            procs.append(prom)

            screen = Screen()
            for name in EXAMPLES:
                apply(custom, manifest(name, prom_url, data_dir, STABLE[name]))
            watch(
                custom,
                core,
                screen,
                "1/2  first release of each model",
                _settled(dict.fromkeys(EXAMPLES, "Promoted")),
            )
            for name in EXAMPLES:
                apply(custom, manifest(name, prom_url, data_dir))
            final = watch(
                custom, core, screen, "2/2  new versions (churn-predictor sees drifted inputs)",
                _settled(EXPECTED),
            )  # fmt: skip

            report = write_report(final, out_dir / "report.html", events={
                i["metadata"]["name"]: core.list_namespaced_event(
                    NS, field_selector=f"involvedObject.uid={i['metadata']['uid']}"
                ).items
                for i in final
            })  # fmt: skip
            print()
            for item in final:
                print(render.status_view(item, render.now_utc()), end="\n\n")
            rollbacks = _query(prom_url, "sum by (name, reason) (modeldeploy_rollbacks_total)")
            print(
                "Prometheus: modeldeploy_rollbacks_total =",
                {r["metric"]["name"]: r["value"][1] for r in rollbacks},
            )
            print(f"report: {report}")
    finally:
        if exporter is not None:
            exporter.close()
        for p in procs:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)
    left = leftovers([p.pid for p in procs])
    result = summary(final, report, left, time.monotonic() - started)
    (out_dir / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    if left:
        print(f"processes left behind: {left}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - started:.0f}s; no process left behind")
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through run()'s finally: everything is torn down


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return run(Path(os.environ.get("KDAP_DEMO_OUT", ROOT / "out")))


if __name__ == "__main__":
    sys.exit(main())
