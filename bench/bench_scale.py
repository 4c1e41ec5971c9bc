"""The operator at platform scale, side by side with Argo Rollouts v1.10.1 on the same local control plane.

For each N (one fresh cluster, kwok nodes sized to the pods both systems create):

1. **this operator**: N ModelDeployments applied at once (canary 10/50/100 with 1 s pauses, no analysis);
   time to all Promoted and per-object apply->Promoted p50/p99; a new version of all -> all Promoted again;
   delete all -> all gone. Peak RSS, RSS idle with 0 objects and with N Promoted, CPU seconds, CPU per
   reconcile, API requests per object (counted by the apiserver: the operator runs as its own user, matched by
   a FlowSchema, as Argo is; see argo_side.py).
2. **Argo Rollouts**: N equivalent Rollouts (basic canary setWeight 10/50/100, 1 s pauses), same figures.
3. **Reaction under load**: N ModelDeployments held mid-rollout at 10 % with metric analysis against a real
   Prometheus scraping an exporter this bench controls; one candidate's error rate breaches at a random
   moment; time from the breach to 0 % traffic on that candidate, p50/p99 over repeated breaches.

``--quick`` runs N = 20 with 3 breaches, shorter fixed waits and a 2 s scale-down delay (the test suite runs
it so the bench cannot rot; its figures are not the ones reported); ``make bench`` runs N = 100 and N = 1,000.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from argo_side import (  # noqa: E402
    ProcessSampler,
    apply_argo_crds,
    cpu_seconds,
    percentile,
    run_argo_scale,
)
from scale_common import (  # noqa: E402
    STEPS,
    Operator,
    _apply,
    _items,
    _wait_each,
    install,
    model_deployment,
    promoted_on,
    requests_counted,
)
from watchers import DoneWatcher, promoted_stamp, stamped_figures  # noqa: E402

from localkube.binaries import ensure_binaries  # noqa: E402
from localkube.cluster import LocalCluster, free_port  # noqa: E402


@dataclass(frozen=True)
class Pace:
    """The bench's fixed waits. ``--quick`` (the suite's run, so the bench cannot rot) shortens them: its
    figures are not reported, only that every one is produced."""

    settle_s: float = 8.0  # the operator started, watching, nothing to do
    idle_s: float = 10.0  # after the last retirement, before RSS idle
    idle_window_s: float = 20.0  # API requests counted while idle
    scale_down_delay: str = "30s"  # the old stable's life after the switch (the API's default)
    poll_s: float = 5.0  # how often the retirements are looked at (a LIST of every object)


QUICK = Pace(settle_s=3.0, idle_s=3.0, idle_window_s=10.0, scale_down_delay="2s", poll_s=1.0)


def run_ours(
    cluster: LocalCluster, n: int, work: Path, workers: int, timeout: float, pace: Pace = Pace()
) -> dict[str, Any]:
    ns = "bench-ours"
    cluster.kubectl("create", "namespace", ns)
    names = [f"m{i:04d}" for i in range(n)]
    op = Operator(cluster, ns, work, workers)
    mdeps = DoneWatcher(cluster.kubeconfig, "mlops.kdap.io", "v1alpha1", "modeldeployments", ns)
    deployments = DoneWatcher(cluster.kubeconfig, "apps", "v1", "deployments", ns)
    try:
        with ProcessSampler(op.proc.pid) as sampler:
            time.sleep(pace.settle_s)  # started, watching, nothing to do
            op.check()
            idle0 = op.rss_mb()
            req0, cpu0, rec0 = requests_counted(cluster), cpu_seconds(op.proc.pid), op.reconciles()
            figures: dict[str, Any] = {
                "system": "modeldeploy",
                "n": n,
                "workers": workers,
                "idle_0_mb": idle0,
            }
            for phase, version in (("create", "1.0.0"), ("update", "1.1.0")):
                strategy = {
                    "type": "canary",
                    "canary": {"steps": STEPS, "scaleDownDelay": pace.scale_down_delay},
                }
                items = [model_deployment(m, version, strategy) for m in names]
                wall_t0 = time.time()
                seen = _wait_each(
                    mdeps, n, promoted_on(version), op, timeout, functools.partial(_apply, cluster, ns, items)
                )
                times = list(seen.values())
                figures[phase] = {
                    "all_done_s": max(times),
                    "p50_s": percentile(times, 50),
                    "p99_s": percentile(times, 99),
                    **stamped_figures(_items(cluster, "mdep", ns), promoted_stamp, wall_t0),
                }
            # Idle means nothing left to do: old revisions retire after their 30 s scale-down delay (on a
            # loaded machine, later), so wait until none is left before measuring.
            end = time.monotonic() + 300.0
            while time.monotonic() < end and any(
                (m.get("status") or {}).get("retiredRevisions") for m in _items(cluster, "mdep", ns)
            ):
                time.sleep(pace.poll_s)
            time.sleep(pace.idle_s)
            figures["idle_n_mb"] = op.rss_mb()
            idle_req = requests_counted(cluster)
            time.sleep(pace.idle_window_s)
            per_minute = 60.0 / pace.idle_window_s
            figures["idle_requests_per_object_per_min"] = (
                (requests_counted(cluster) - idle_req) * per_minute / n
            )
            start = time.monotonic()
            cluster.kubectl("delete", "mdep", "--all", "-n", ns, "--wait=false")
            mdeps.wait_gone(timeout, op.check)
            deployments.wait_gone(timeout, op.check)  # the revisions go too (garbage collector)
            figures["delete"] = {"all_gone_s": time.monotonic() - start}
            reconciles = op.reconciles() - rec0
            cpu = cpu_seconds(op.proc.pid) - cpu0
            figures["controller"] = {
                "peak_rss_mb": sampler.peak_rss_kb / 1024,
                "cpu_s": cpu,
                "reconciles": reconciles,
                "cpu_ms_per_reconcile": 1000 * cpu / max(reconciles, 1),
            }
            figures["requests_per_object"] = (requests_counted(cluster) - req0) / n
        return figures
    finally:
        mdeps.stop()
        deployments.stop()
        op.stop()


def run_argo(cluster: LocalCluster, n: int, work: Path, timeout: float) -> dict[str, Any]:
    raw = run_argo_scale(cluster, "bench-argo", n, work, timeout=timeout)
    return {
        "system": "argo-rollouts",
        "n": n,
        "create": raw["create"],
        "update": raw["update"],
        "delete": raw["delete"],
        "controller": {"peak_rss_mb": raw["controller"]["peak_rss_mb"], "cpu_s": raw["controller"]["cpu_s"]},
        "requests_per_object": raw["api_requests"]["controller_apiserver"]["per_object"],
    }


# ---- reaction under load ------------------------------------------------------------------------------


class Exporter:
    """``bench_error_rate{namespace,revision}``: 0 for every revision unless the bench breaches one."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Gauge, start_http_server

        self.registry = CollectorRegistry()
        self.gauge = Gauge(
            "bench_error_rate", "error rate", ["namespace", "revision"], registry=self.registry
        )
        self.port = free_port()
        start_http_server(self.port, addr="127.0.0.1", registry=self.registry)


def start_prometheus(work: Path, target: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cfg = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "bench", "static_configs": [{"targets": [target]}]}],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=(work / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/-/ready", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("prometheus did not become ready")


def run_reaction(
    cluster: LocalCluster, n: int, work: Path, workers: int, breaches: int, interval: int, timeout: float
) -> dict[str, Any]:
    ns = "bench-react"
    cluster.kubectl("create", "namespace", ns)
    exporter = Exporter()
    prom, url = start_prometheus(work, f"127.0.0.1:{exporter.port}")
    # The operator enforces ModelDeploymentPolicies (its default): grant this namespace its Prometheus.
    grant = {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeploymentPolicy",
        "metadata": {"name": ns},
        "spec": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            "metrics": {"prometheus": [url]},
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(grant))
    names = [f"r{i:04d}" for i in range(n)]
    analysis = {
        "interval": f"{interval}s",
        "prometheusAddress": url,
        "metrics": [
            {
                "name": "error-rate",
                "provider": "prometheus",
                "query": 'max(bench_error_rate{namespace="$namespace",revision="$revision"}) or vector(0)',
                "max": 0.5,
            }
        ],
    }
    hold = {
        "type": "canary",
        "canary": {"steps": [{"weight": 10, "pause": {}, "analysis": True}, {"weight": 100}]},
    }
    op = Operator(cluster, ns, work, workers)
    mdeps = DoneWatcher(cluster.kubeconfig, "mlops.kdap.io", "v1alpha1", "modeldeployments", ns)
    # Every object runs metric analysis here: the operator's memory with analysis state for all of them.
    sampler = ProcessSampler(op.proc.pid).__enter__()
    try:
        first = {"type": "canary", "canary": {"steps": [{"weight": 100}]}}
        v1 = [model_deployment(m, "1.0.0", first, analysis=analysis) for m in names]
        _wait_each(mdeps, n, promoted_on("1.0.0"), op, timeout, lambda: _apply(cluster, ns, v1))
        v2 = [model_deployment(m, "2.0.0", hold, analysis=analysis) for m in names]

        def at_ten(b: dict[str, Any]) -> bool:
            return ((b.get("status") or {}).get("traffic") or {}).get("candidateWeight") == 10

        _wait_each(mdeps, n, at_ten, op, timeout, lambda: _apply(cluster, ns, v2))
        bodies = {b["metadata"]["name"]: b for b in _items(cluster, "mdep", ns)}
        rng = random.Random(7)
        reactions: list[float] = []
        for victim in rng.sample(names, breaches):
            time.sleep(rng.uniform(0, interval))  # a random moment within the analysis cycle
            revision = bodies[victim]["status"]["candidate"]["name"]
            exporter.gauge.labels(ns, revision).set(1.0)
            breach = time.monotonic()
            while True:
                op.check()
                b = json.loads(cluster.kubectl("get", "mdep", victim, "-n", ns, "-o", "json").stdout)
                weights = ((b.get("status") or {}).get("traffic") or {}).get("weights") or {}
                if weights.get(revision, 0) == 0:
                    reactions.append(time.monotonic() - breach)
                    break
                if time.monotonic() - breach > 5 * interval + 30:
                    raise TimeoutError(f"{victim} still routes to {revision}; log {op.log}")
                time.sleep(0.1)
        return {
            "n": n,
            "interval_s": interval,
            "breaches": breaches,
            "p50_s": percentile(reactions, 50),
            "p99_s": percentile(reactions, 99),
            "max_s": max(reactions),
            "rss_mb": op.rss_mb(),
            "peak_rss_mb": sampler.peak_rss_kb / 1024,
        }
    finally:
        sampler.__exit__(None, None, None)
        mdeps.stop()
        op.stop()
        prom.kill()
        prom.wait()


# ---- report -------------------------------------------------------------------------------------------


def report(ours: dict[str, Any], argo: dict[str, Any] | None, reaction: dict[str, Any]) -> None:
    n = ours["n"]
    print(f"\n== N = {n} (workers {ours['workers']})")
    print(f"{'':34} {'modeldeploy':>14} {'argo-rollouts':>14}")
    rows = [
        ("create: all Promoted (s)", lambda f: f["create"]["all_done_s"]),
        ("create: apply->Promoted p50 (s)", lambda f: f["create"]["p50_s"]),
        ("create: apply->Promoted p99 (s)", lambda f: f["create"]["p99_s"]),
        ("create: p99 by status time (s)", lambda f: f["create"]["status_p99_s"]),
        ("update: all Promoted (s)", lambda f: f["update"]["all_done_s"]),
        ("update: apply->Promoted p50 (s)", lambda f: f["update"]["p50_s"]),
        ("update: apply->Promoted p99 (s)", lambda f: f["update"]["p99_s"]),
        ("update: p99 by status time (s)", lambda f: f["update"]["status_p99_s"]),
        ("delete: all gone (s)", lambda f: f["delete"]["all_gone_s"]),
        ("peak RSS (MB)", lambda f: f["controller"]["peak_rss_mb"]),
        ("CPU (s)", lambda f: f["controller"]["cpu_s"]),
        ("API requests per object", lambda f: f["requests_per_object"]),
    ]
    for label, get in rows:
        theirs = f"{get(argo):14.1f}" if argo else f"{'-':>14}"
        print(f"{label:34} {get(ours):14.1f} {theirs}")
    c = ours["controller"]
    per = c["cpu_ms_per_reconcile"]
    print(f"modeldeploy reconciles: {c['reconciles']}, CPU per reconcile: {per:.1f} ms")
    print(
        f"modeldeploy RSS idle: {ours['idle_0_mb']:.0f} MB with 0 objects, "
        f"{ours['idle_n_mb']:.0f} MB with {n}"
    )
    print(
        f"modeldeploy idle API requests per object per minute: {ours['idle_requests_per_object_per_min']:.2f}"
    )
    if argo:
        create = ours["create"]["p99_s"] / argo["create"]["p99_s"]
        update = ours["update"]["p99_s"] / argo["update"]["p99_s"]
        print(f"p99 apply->Promoted, ours/argo: create {create:.2f}x, update {update:.2f}x")
    report_reaction(n, reaction)


def report_reaction(n: int, reaction: dict[str, Any]) -> None:
    print(
        f"reaction, breach -> 0 % traffic, {reaction['breaches']} breaches with {n} objects mid-rollout "
        f"(analysis every {reaction['interval_s']} s): p50 {reaction['p50_s']:.1f}s, "
        f"p99 {reaction['p99_s']:.1f}s, max {reaction['max_s']:.1f}s; "
        f"operator RSS peak {reaction['peak_rss_mb']:.0f} MB, {reaction['rss_mb']:.0f} MB at the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="N = 20, 3 breaches, analysis every 5 s, short fixed waits"
    )
    parser.add_argument("-n", type=int, action="append", help="object counts (default 100 and 1000)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--breaches", type=int, default=10)
    parser.add_argument("--no-argo", action="store_true", help="skip the Argo Rollouts side")
    parser.add_argument(
        "--reaction-only", action="store_true", help="only phase 3 (reaction time and memory under analysis)"
    )
    args = parser.parse_args()
    sizes = [20] if args.quick else (args.n or [100, 1000])
    breaches = 3 if args.quick else args.breaches
    pace = QUICK if args.quick else Pace()
    for n in sizes:
        # Both systems run two pods per object mid-rollout; kwok nodes hold 110 pods each.
        nodes = max(2, math.ceil(2.2 * n / 110) + 1)
        timeout = 300.0 + 1.2 * n
        interval = 5 if args.quick else 10 if n <= 100 else 30
        with tempfile.TemporaryDirectory(prefix=f"bench-scale-{n}-") as tmp:
            work = Path(tmp)
            cluster = LocalCluster(work / "lk", ensure_binaries(), nodes=nodes)
            cluster.start(timeout=180)
            try:
                if not args.no_argo:
                    # With ours, so the GC's 30 s discovery resync learns both kinds at once, while our
                    # phase runs (learning Rollouts later stalled it during our delete phase).
                    apply_argo_crds(cluster)
                install(cluster)
                if args.reaction_only:
                    reaction = run_reaction(cluster, n, work, args.workers, breaches, interval, timeout)
                    report_reaction(n, reaction)
                    continue
                ours = run_ours(cluster, n, work, args.workers, timeout, pace)
                argo = None if args.no_argo else run_argo(cluster, n, work, timeout)
                reaction = run_reaction(cluster, n, work, args.workers, breaches, interval, timeout)
                report(ours, argo, reaction)
                print(json.dumps({"ours": ours, "argo": argo, "reaction": reaction}), file=sys.stderr)
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
