"""Rollout speed on the real local control plane, against plain Kubernetes measured in the same run.

- apply-to-promoted: a 4-step zero-pause canary (10/25/50/100) of a new model version, until the
  ModelDeployment reports Promoted with all traffic on the new revision;
- baseline: the same pods rolled out by a plain Deployment image update (``kubectl rollout status``);
- CPU time per reconcile: the operator process's user+system CPU over the rollout, divided by the reconciles
  it logged.

``--quick`` does one rollout instead of three.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from localkube.binaries import ensure_binaries
from localkube.cluster import LocalCluster

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.conftest import GATEWAY  # noqa: E402
from tests.e2e.manifests import model_deployment  # noqa: E402

NS = "bench"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait(cluster: LocalCluster, predicate: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        body = json.loads(cluster.kubectl("get", "mdep", "budget", "-n", NS, "-o", "json").stdout)
        status = body.get("status") or {}
        if eval(predicate, {}, {"status": status}):
            return
        time.sleep(0.05)
    raise TimeoutError(predicate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    rounds = 1 if parser.parse_args().quick else 3
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        cluster = LocalCluster(Path(tmp) / "lk", ensure_binaries(), nodes=2)
        t0 = time.monotonic()
        cluster.start()
        print(f"control plane ready in {time.monotonic() - t0:.1f}s")
        op = None
        try:
            for f in [*sorted((ROOT / "crds").glob("*.yaml")), ROOT / "deploy/crds/kopf-peering.yaml"]:
                cluster.kubectl("apply", "--server-side", "-f", str(f))
            cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
            cluster.kubectl("apply", "-f", str(ROOT / "deploy/peering.yaml"))
            cluster.kubectl("create", "namespace", "gateways")
            cluster.kubectl("apply", "-f", "-", input=json.dumps(GATEWAY))
            cluster.kubectl("create", "namespace", NS)
            log = Path(tmp) / "operator.log"
            env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
            op = subprocess.Popen(
                # One replica, no peering object: the handover is proven in tests/e2e/test_peering.py.
                [sys.executable, "-m", "modeldeploy", "operator", "-n", NS, "--liveness", "", "--standalone"],
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                env=env,
            )
            apply = lambda v: cluster.kubectl(  # noqa: E731
                "apply",
                "-n",
                NS,
                "-f",
                "-",
                input=json.dumps(model_deployment("budget", image=f"registry.example/b:{v}", version=v)),
            )
            apply("1.0.0")
            try:
                wait(cluster, "status.get('phase') == 'Promoted'")
            except TimeoutError:
                print(log.read_text()[-4000:], file=sys.stderr)
                raise
            rollouts, baselines, cpus = [], [], []
            for i in range(rounds):
                version = f"1.{i + 1}.0"
                reconciles_before = log.read_text().count("reconciled ")
                cpu_before = cpu_seconds(op.pid)
                start = time.monotonic()
                apply(version)
                wait(
                    cluster,
                    f"status.get('phase') == 'Promoted' and status['stable']['modelVersion'] == '{version}'",
                )
                rollouts.append(time.monotonic() - start)
                time.sleep(1.0)  # let trailing reconciles (requeues) land in the count
                n = log.read_text().count("reconciled ") - reconciles_before
                cpus.append((cpu_seconds(op.pid) - cpu_before) / max(n, 1))

                name = f"plain-{i}"
                cluster.kubectl(
                    "create", "deployment", name, "-n", NS, f"--image=registry.example/b:{version}"
                )
                cluster.kubectl("rollout", "status", f"deploy/{name}", "-n", NS, "--timeout=60s")
                start = time.monotonic()
                cluster.kubectl(
                    "set", "image", f"deploy/{name}", "-n", NS, f"b=registry.example/b:{version}-next"
                )
                cluster.kubectl("rollout", "status", f"deploy/{name}", "-n", NS, "--timeout=60s")
                baselines.append(time.monotonic() - start)
            best, base = min(rollouts), min(baselines)
            print(
                f"apply-to-promoted, 4-step zero-pause canary: best {best:.2f}s of {rounds} "
                f"({', '.join(f'{r:.2f}' for r in rollouts)})"
            )
            print(f"baseline, plain Deployment image update: best {base:.2f}s; ratio {best / base:.1f}x")
            print(
                f"operator CPU per reconcile: {1000 * min(cpus):.1f} ms (rounds: "
                f"{', '.join(f'{1000 * c:.1f}' for c in cpus)} ms)"
            )
        finally:
            if op is not None:
                op.kill()
                op.wait()
            cluster.stop()


if __name__ == "__main__":
    main()
