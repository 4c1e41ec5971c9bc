"""Least privilege, for real: the rendered install applied to the real control plane, then the operator run
under a token of its ServiceAccount (bound to the rendered ClusterRole and nothing else) rolls a canary to
Promoted, serves its metrics and logs JSON; the CLI, under the admin identity, steers a manual gate."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from localkube.testing import ClusterHandle
from tests.conftest import ROOT
from tests.deploy.as_operator import denials, operator_process, sa_kubeconfig
from tests.deploy.render import render
from tests.e2e.conftest import get_md, phase, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster
SA = "system:serviceaccount:kdap-system:modeldeploy"


@pytest.fixture(scope="module")
def installed(cluster: ClusterHandle, gateway: str) -> list[dict[str, Any]]:
    docs = render("base")
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    rest = [d for d in docs if d["kind"] != "CustomResourceDefinition"]
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all(crds))
    for crd in crds:
        cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}"
        )
    for _ in range(40):  # kubectl's discovery may not list the new kinds at once
        out = cluster.kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            "-",
            input=yaml.safe_dump_all(rest),
            check=False,
        )
        if out.returncode == 0:
            break
        time.sleep(0.5)
    assert out.returncode == 0, out.stderr
    return docs


@pytest.mark.parametrize(
    ("verb", "resource", "where", "allowed"),
    [
        ("patch", "modeldeployments.mlops.kdap.io/status", "-A", "yes"),
        ("create", "deployments.apps", "-A", "yes"),
        ("patch", "httproutes.gateway.networking.k8s.io", "-A", "yes"),
        ("list", "pods", "-A", "yes"),
        ("watch", "pods", "-A", "yes"),  # the child caches are watch-fed
        ("watch", "httproutes.gateway.networking.k8s.io", "-A", "yes"),
        ("list", "services", "-A", "yes"),  # deleting lists a ModelDeployment's own children
        ("list", "horizontalpodautoscalers.autoscaling", "-A", "yes"),
        ("create", "jobs.batch", "-A", "yes"),  # batch models: a Job per run
        ("patch", "cronjobs.batch", "-A", "yes"),  # ... a CronJob per schedule
        ("patch", "podtemplates", "-A", "yes"),  # ... a PodTemplate per revision
        ("watch", "jobs.batch", "-A", "no"),  # listed per reconcile, never watched
        ("watch", "modeldeploymentpolicies.mlops.kdap.io", "-A", "yes"),  # the policy gate's cache
        ("watch", "namespaces", "-A", "yes"),  # ... and the labels policies select by
        ("create", "modeldeploymentpolicies.mlops.kdap.io", "-A", "no"),  # never widens its own grants
        ("patch", "namespaces", "-A", "no"),
        ("get", "secrets", "-A", "no"),
        ("list", "secrets", "-A", "no"),
        ("delete", "namespaces", "-A", "no"),
        ("create", "pods", "-A", "no"),
        ("update", "modeldeployments.mlops.kdap.io", "-A", "no"),  # never rewrites the spec Git owns
        ("delete", "modeldeployments.mlops.kdap.io", "-A", "no"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io", "-A", "no"),
        ("patch", "gateways.gateway.networking.k8s.io", "-A", "no"),
        ("delete", "customresourcedefinitions.apiextensions.k8s.io", "-A", "no"),
    ],
)
def test_can_i(
    cluster: ClusterHandle,
    installed: list[dict[str, Any]],
    verb: str,
    resource: str,
    where: str,
    allowed: str,
) -> None:
    out = cluster.kubectl("auth", "can-i", verb, resource, where, f"--as={SA}", check=False)
    assert out.stdout.strip() == allowed, f"can-i {verb} {resource}: {out.stdout} {out.stderr}"


@pytest.fixture
def restricted_operator(
    cluster: ClusterHandle, installed: list[dict[str, Any]], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    kubeconfig = sa_kubeconfig(cluster, "modeldeploy", tmp_path / "sa.kubeconfig")
    log = tmp_path / "operator.log"
    # clusterwide and peered, exactly as the Deployment runs it
    with operator_process(
        kubeconfig, log, "--metrics-port=0", "--metrics-addr=127.0.0.1", "--liveness="
    ) as proc:
        yield proc, log


def _metrics_port(log: Path, proc: subprocess.Popen[bytes]) -> int:
    for _ in range(200):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and "metricsPort" in line:
                return int(json.loads(line)["metricsPort"])
        assert proc.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError(f"no metricsPort log line:\n{log.read_text()[-3000:]}")


def _mdep(cluster: ClusterHandle, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**cluster.env, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run(["kubectl", "mdep", *args], capture_output=True, text=True, env=env, timeout=120)


def test_operator_under_the_rendered_role_rolls_a_gated_canary_to_promoted(
    cluster: ClusterHandle,
    namespace: str,
    restricted_operator: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, log = restricted_operator
    port = _metrics_port(log, proc)

    class Op:  # what wait_for needs to report a dead operator
        def __init__(self) -> None:
            self.proc = proc

        def output(self) -> str:
            return log.read_text(errors="replace")

    op: Any = Op()
    steps = {
        "type": "canary",
        "canary": {"steps": [{"weight": 20}, {"weight": 50, "pause": {}}, {"weight": 100}]},
    }
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=json.dumps(model_deployment("gated", strategy=steps))
    )
    first = wait_for(
        cluster, namespace, "gated", lambda b: phase(b) == "Promoted", "first revision", operator=op
    )
    v2 = model_deployment(
        "gated", image="registry.example/budget-optimizer:1.1.0", version="1.1.0", strategy=steps
    )
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(v2))
    gate = wait_for(
        cluster, namespace, "gated",
        lambda b: ((b.get("status") or {}).get("pause") or {}).get("reason") == "Gate",
        "the manual gate at 50%", operator=op,
    )  # fmt: skip
    cand = gate["status"]["candidate"]["name"]
    assert gate["status"]["traffic"]["weights"][cand] == 50

    # the CLI as a kubectl plugin: a wrong action is refused client-side, with the way out
    wrong = _mdep(cluster, "resume", "gated", "-n", namespace)
    assert wrong.returncode == 2
    assert "waits at a manual gate; use `kubectl mdep promote gated`" in wrong.stderr
    shown = _mdep(cluster, "status", "gated", "-n", namespace)
    assert "  [>] 2. weight 50%, manual gate" in shown.stdout
    promoted = _mdep(cluster, "promote", "gated", "-n", namespace, "--timeout=60")
    assert promoted.returncode == 0, promoted.stderr + op.output()[-3000:]
    assert "promote accepted" in promoted.stdout
    done = wait_for(
        cluster, namespace, "gated",
        lambda b: phase(b) == "Promoted" and b["status"]["stable"]["name"] == cand, "promoted after the gate",
        operator=op,
    )  # fmt: skip
    assert done["status"]["stable"]["name"] != first["status"]["stable"]["name"]
    assert get_md(cluster, namespace, "gated")["spec"]["model"]["version"] == "1.1.0"  # spec untouched
    history = _mdep(cluster, "history", "gated", "-n", namespace)
    assert history.returncode == 0
    assert "Promoted" in history.stdout

    output = op.output()
    assert denials(output) == [], output[-4000:]
    json_lines = [json.loads(ln) for ln in output.splitlines() if ln.startswith("{")]
    assert any(r.get("namespace") == namespace and r.get("name") == "gated" for r in json_lines), output[
        -3000:
    ]

    import urllib.request

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert f'modeldeploy_rollout_phase{{name="gated",namespace="{namespace}",phase="Promoted"}} 1.0' in body
    assert f'modeldeploy_reconciles_total{{name="gated",namespace="{namespace}",outcome="ok"}}' in body
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    assert any(e["reason"] == "ManualRequest" for e in events), [e["reason"] for e in events]


def _batch_runs(body: dict[str, Any]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = ((body.get("status") or {}).get("batch") or {}).get("runs", [])
    return runs


def test_operator_under_the_rendered_role_runs_a_batch_model(
    cluster: ClusterHandle,
    namespace: str,
    restricted_operator: tuple[subprocess.Popen[bytes], Path],
) -> None:
    """PodTemplates, a CronJob and a manual run's Job under the role alone (the batch e2e runs as admin)."""
    from tests.e2e.conftest import policy_for

    proc, log = restricted_operator
    store = "https://kdapdata.blob.core.windows.net/scores"
    grant = policy_for(namespace, storage=[{"account": "kdapdata", "containers": ["scores"]}])
    cluster.kubectl("apply", "-f", "-", input=json.dumps(grant))

    class Op:
        def __init__(self) -> None:
            self.proc = proc

        def output(self) -> str:
            return log.read_text(errors="replace")

    op: Any = Op()
    batch = {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "nightly"},
        "spec": {
            "target": {"type": "kubernetes", "kubernetes": {"image": "registry.example/scorer:1.0.0"}},
            "model": {"name": "scorer", "version": "1.0.0", "artifactUri": f"{store}/model.json"},
            "batch": {
                "input": f"{store}/in/",
                "output": {"uri": f"{store}/out/{{revision}}"},
                "schedules": [{"name": "nightly", "cron": {"expression": "0 2 * * *"}}],
            },
        },
    }
    try:
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(batch))
        wait_for(
            cluster, namespace, "nightly",
            lambda b: phase(b) == "Promoted" and bool(((b.get("status") or {}).get("batch") or {}).get(
                "schedulesApplied")),
            "the batch default and its schedule", operator=op,
        )  # fmt: skip
        run = _mdep(cluster, "run", "nightly", "-n", namespace, "--timeout=60")
        assert run.returncode == 0, run.stderr + op.output()[-3000:]
        done = wait_for(
            cluster, namespace, "nightly",
            lambda b: any(r.get("phase") == "Succeeded" for r in _batch_runs(b)),
            "the manual run", operator=op,
        )  # fmt: skip
        assert [r["trigger"] for r in done["status"]["batch"]["runs"]] == ["manual"]
        cronjobs = cluster.kubectl("get", "cronjobs", "-n", namespace, "-o", "name").stdout.split()
        assert cronjobs == ["cronjob.batch/nightly-nightly"]
        output = op.output()
        assert denials(output) == [], output[-4000:]
    finally:
        cluster.kubectl("delete", "modeldeploymentpolicy", grant["metadata"]["name"], "--ignore-not-found")
