"""``python -m kdap_demo`` (``make demo``): two rollouts on a real local control plane, end to end.

It starts localkube, the operator (with its metrics endpoint), a model-traffic exporter and Debian's
Prometheus scraping both; applies the two ModelDeployments in examples/demo/ (each first at a stable version,
then upgraded the way a Git commit would); shows their progress live; writes out/report.html; and tears
everything down in ``finally``, checking that no process it started is left.

With ``KDAP_DEMO_SPARK=1`` (``make demo SPARK=1``) the operator pushes drift windows over 1 MiB down to Spark
(``--drift-pushdown-mib=1 --spark-local-dir``): the churn predictor's live window (1.3 MiB) is then analysed
by pyspark jobs in local mode. It is opt-in because each job starts a JVM: measured on the shared 2-core
machine, the demo took 61-87 s with it against 32 s without (its two drift checks, confirmations: 2, are two
jobs in a row). Either way the output names the engine of each model's last drift analysis.

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
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client, config

from kdap_demo.world import (
    NS,
    TrafficExporter,
    free_port,
    leftovers,
    spark_missing,
    start_operator,
    start_prometheus,
    stop,
    write_data,
)
from modeldeploy.cli import render
from modeldeploy.report import write_report

ROOT = Path(__file__).resolve().parents[3]  # hack/demo/kdap_demo/ -> the repository
EXAMPLES = {"fraud-scorer": "fraud-scorer-canary.yaml", "churn-predictor": "churn-predictor-drift.yaml"}
POLICY = "policy.yaml"  # what the platform grants the demo namespace (the operator enforces policies)
STABLE = {"fraud-scorer": "1.9.0", "churn-predictor": "3.0.2"}
EXPECTED = {"fraud-scorer": "Promoted", "churn-predictor": "RolledBack"}
TIMEOUT = 150.0
GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "gateways"},
    "spec": {"gatewayClassName": "demo", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
}


# ---- the show -------------------------------------------------------------------------------------------


def manifest(name: str, prometheus: str, data_dir: Path, version: str | None = None) -> dict[str, Any]:
    text = (ROOT / "examples" / "demo" / EXAMPLES.get(name, name)).read_text()
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


def drift_engines(item: dict[str, Any]) -> list[str]:
    """Which engine ran the last drift analysis, and why (in-process, or a Spark job over the limit)."""
    analysis = (item.get("status") or {}).get("lastAnalysis") or {}
    return sorted({f.get("engine") or "in-process" for f in analysis.get("drift") or []})


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
        "driftEngines": {i["metadata"]["name"]: drift_engines(i) for i in final},
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
    write_data(data_dir, churn_live_rows=70_000)
    spark = os.environ.get("KDAP_DEMO_SPARK", "0") == "1"
    if spark and (missing := spark_missing()) is not None:
        print(f"drift pushdown off: {missing}", flush=True)
        spark = False
    procs: list[subprocess.Popen[bytes]] = []
    exporter: TrafficExporter | None = None
    try:
        print("starting the local control plane ...", flush=True)
        with local_cluster(work) as cluster:
            kc = cluster.kubeconfig
            kubectl(kc, "apply", "--server-side", "-f", str(ROOT / "crds"))
            kubectl(kc, "apply", "-f", str(ROOT / "deploy" / "crds" / "kopf-peering.yaml"))
            kubectl(
                kc,
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/modeldeployments.mlops.kdap.io",
                "crd/modeldeploymentpolicies.mlops.kdap.io",
            )
            kubectl(kc, "create", "namespace", "gateways")
            kubectl(kc, "create", "namespace", NS)
            kubectl(kc, "apply", "-f", "-", input=json.dumps(GATEWAY))
            api = config.new_client_from_config(config_file=str(kc))  # type: ignore[no-untyped-call]
            custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)

            exporter = TrafficExporter(custom)
            traffic_port = exporter.start()
            op_port = free_port()
            print("starting Prometheus and the operator ...", flush=True)
            prom, prom_url = start_prometheus(
                work, [f"127.0.0.1:{traffic_port}", f"127.0.0.1:{op_port}"], out_dir / "demo-prometheus.log"
            )
            procs.append(prom)
            # The grant first: the operator starts knowing it, so no rollout is ever refused on the way.
            policy = manifest(POLICY, prom_url, data_dir)
            kubectl(kc, "apply", "-f", "-", input=json.dumps(policy))
            spark_dir = work / "spark" if spark else None
            procs.append(start_operator(kc, op_port, out_dir / "demo-operator.log", data_dir, spark_dir))

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
                custom, core, screen, "2/2  new versions (churn-predictor sees drifted inputs"
                + (", analysed by a local Spark job)" if spark else ")"),
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
            for item in final:
                print(f"drift engine, {item['metadata']['name']}: {'; '.join(drift_engines(item))}")
            if not spark:
                print("(make demo SPARK=1: the churn predictor's drift runs as a local Spark job)")
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
    return run(Path(os.environ.get("KDAP_DEMO_OUT", ROOT / "out")).resolve())  # file:// URIs need it whole


if __name__ == "__main__":
    sys.exit(main())
