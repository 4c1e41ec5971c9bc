"""GitOps for real: Flux (source-controller and kustomize-controller built from their modules) pulls a Git
repository from a loopback Git server and applies its ModelDeployment; the operator rolls it out.

One repository history, commit by commit: the first version is promoted; a new model version rolls out as a
canary (drift analysis passing) and is promoted; a version whose live data drifts is rolled back; a revert
commit returns to the stable revision; a version behind a manual gate is promoted with `kubectl mdep
promote`, the next one aborted with `kubectl mdep abort`; removing the manifest prunes the ModelDeployment and
its children. Throughout, Flux's health check (`wait: true`, kstatus) waits on Progressing/Paused, passes
on Promoted and fails on RolledBack/Degraded; Flux re-applies every few seconds (its drift correction) and
finds nothing to change (`unchanged` in its apply log, `kubectl diff` of the Git manifest empty), and nobody
but Flux ever wrote the spec. The Argo CD health check (deploy/argocd/health.lua) is asked about the same
live objects. The timeline is printed (pytest -s).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from kubernetes import client

from localkube.flux import FluxControllers, ensure_flux, install_crds
from localkube.gitserver import GitServer
from localkube.testing import ClusterHandle
from modeldeploy.cli import main as mdep
from tests.conftest import ROOT
from tests.deploy.argocd_health import argocd_health
from tests.e2e.conftest import StartOperator, route_weights
from tests.e2e.gitops import PATH, FluxLoop, children, kustomization_file, spec_writers
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster

NAME = "scorer"
MANIFEST = f"{PATH}/{NAME}.yaml"
GATED = {"type": "canary", "canary": {"steps": [{"weight": 20, "pause": {}}, {"weight": 100}]}}
ANALYSED = {"type": "canary", "canary": {"steps": [{"weight": 50, "analysis": True}, {"weight": 100}]}}


@pytest.fixture(scope="module")
def flux(cluster: ClusterHandle, crds: list[str]) -> Iterator[FluxControllers]:
    binaries = ensure_flux()
    install_crds(cluster.kubeconfig, binaries)
    run_dir = Path(tempfile.mkdtemp(prefix="flux-e2e-"))
    controllers = FluxControllers(cluster.kubeconfig, run_dir, binaries)
    try:
        controllers.start()
        yield controllers
    finally:
        controllers.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture
def loop(
    cluster: ClusterHandle, k8s_api: client.ApiClient, flux: FluxControllers, namespace: str, tmp_path: Path
) -> Iterator[FluxLoop]:
    server = GitServer(tmp_path / "git")
    repo = server.create("models", tmp_path / "work")
    loop = FluxLoop(cluster, k8s_api, flux, repo, server.url("models"), namespace, NAME)
    yield loop
    loop.uninstall()
    server.stop()
    print(f"\nGitOps timeline (Flux {flux.binaries.directory}):\n{loop.timeline.render()}")


def _parquet(path: Path, mean: float, seed: int) -> str:
    rng = np.random.default_rng(seed)
    pq.write_table(pa.table({"spend": rng.normal(mean, 10, 4000)}), path)
    return f"file://{path}"


def _manifest(version: str, strategy: dict[str, Any], live: str, reference: str) -> dict[str, Any]:
    drift = {
        "interval": "1s",
        "reference": {"uri": reference, "format": "parquet"},
        "live": {"uri": live, "format": "parquet", "window": "1h"},
        "numerical": [{"name": "spend", "test": "wasserstein"}],
        "confirmations": 1,
    }
    md = model_deployment(
        NAME,
        image=f"registry.example/scorer:{version}",
        version=version,
        strategy=strategy,
        analysis={"interval": "1s", "drift": drift},
    )
    md["spec"]["model"]["name"] = NAME
    return md


def _phase(loop: FluxLoop, want: str, since_generation: int = 0) -> dict[str, Any] | None:
    md = loop.md()
    status = (md or {}).get("status") or {}
    if md is None or status.get("phase") != want:
        return None
    if status.get("observedGeneration") != md["metadata"]["generation"]:
        return None
    return md if md["metadata"]["generation"] > since_generation else None


def _flux(loop: FluxLoop, ready: str, sha: str) -> tuple[str, str, str] | None:
    status = loop.kustomization().get("status") or {}
    got = loop.flux_ready()
    if got[0] != ready or not str(status.get("lastAttemptedRevision", "")).endswith(sha):
        return None
    return got


def test_flux_applies_rolls_out_rolls_back_reverts_and_prunes(
    cluster: ClusterHandle, namespace: str, start_operator: StartOperator, loop: FluxLoop, tmp_path: Path
) -> None:
    reference = _parquet(tmp_path / "reference.parquet", 100, 1)
    steady = _parquet(tmp_path / "live.parquet", 100, 2)
    drifted = _parquet(tmp_path / "live-drifted.parquet", 130, 3)
    start_operator()

    def commit(version: str, strategy: dict[str, Any], live: str = steady) -> tuple[str, dict[str, Any]]:
        md = _manifest(version, strategy, live, reference)
        kustomization = kustomization_file([f"{NAME}.yaml"])
        files = {MANIFEST: yaml.safe_dump(md), f"{PATH}/kustomization.yaml": kustomization}
        return loop.push(f"scorer {version}", files), md

    def quiet(sha: str, manifest: dict[str, Any], after: int) -> list[str]:
        """Flux re-applied ``sha`` at least twice since ``after`` applies changing nothing, and the Git
        manifest is what runs; returns the MD's actions in every apply of ``sha``."""
        loop.wait(lambda: len(loop.applied_revisions(sha)) >= after + 2 or None, f"Flux re-applies {sha[:7]}")
        actions = loop.applied_revisions(sha)
        assert set(actions[after:]) == {"unchanged"}, actions
        assert loop.diff(manifest) == ""
        return actions

    # 1. The first version: created by Flux, promoted as the first revision; Flux's health check passes.
    c1, _m1 = commit("1.0.0", ANALYSED)
    loop.install()
    first = loop.wait(lambda: _phase(loop, "Promoted"), "first revision promoted")
    loop.wait(lambda: _flux(loop, "True", c1), "Flux Ready on c1")
    assert loop.applied_revisions(c1)[0] == "created"
    assert argocd_health(first)[0] == "Healthy"
    rev1 = first["status"]["stable"]["name"]

    # 2. A new model version: a canary with passing drift analysis, Flux waits on Progressing, then passes.
    c2, m2 = commit("1.1.0", ANALYSED)
    progressing = loop.wait(lambda: _phase(loop, "Progressing", 1), "canary of 1.1.0")
    assert argocd_health(progressing)[0] == "Progressing"
    assert loop.flux_ready()[0] != "True"  # Flux is waiting on the rollout, not done
    promoted = loop.wait(lambda: _phase(loop, "Promoted", 1), "1.1.0 promoted")
    rev2 = promoted["status"]["stable"]["name"]
    assert rev2 != rev1
    assert promoted["status"]["stable"]["modelVersion"] == "1.1.0"
    loop.wait(lambda: _flux(loop, "True", c2), "Flux Ready on c2")
    assert route_weights(cluster, namespace, NAME) == {rev2: 100}

    # 3. Live data drifts: rolled back by the operator; Flux reports the rollback through health, applied
    #    the spec and keeps re-applying it without a change (no drift correction fighting the operator).
    c3, m3 = commit("1.2.0", ANALYSED, live=drifted)
    rolled = loop.wait(lambda: _phase(loop, "RolledBack", 2), "1.2.0 rolled back on drift")
    stalled = next(c for c in rolled["status"]["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "DriftDetected")
    health, message = argocd_health(rolled)
    assert health == "Degraded"
    assert message.startswith("RolledBack (DriftDetected): Git holds revision")
    _ready, reason, text = loop.wait(lambda: _flux(loop, "False", c3), "Flux health check fails on c3")
    assert reason == "HealthCheckFailed"
    assert f"ModelDeployment/{namespace}/{NAME} status: 'Failed'" in text
    before = len(loop.applied_revisions(c3))
    quiet(c3, m3, before)
    live = loop.md()
    assert live is not None
    assert live["spec"]["model"]["version"] == "1.2.0"  # Git's spec stays, stable serves
    assert live["status"]["stable"]["name"] == rev2
    assert route_weights(cluster, namespace, NAME) == {rev2: 100}

    # 4. Revert the drifting commit: back to the stable revision, no new candidate, Flux Ready again.
    c4 = loop.revert(c3)
    back = loop.wait(lambda: _phase(loop, "Promoted", 3), "revert promoted")
    assert back["status"]["stable"]["name"] == rev2
    assert "candidate" not in back["status"]
    loop.wait(lambda: _flux(loop, "True", c4), "Flux Ready on the revert")
    assert route_weights(cluster, namespace, NAME) == {rev2: 100}
    quiet(c4, m2, 1)

    # 5. A manual gate: `kubectl mdep promote` during the Flux-managed rollout; Flux reverts nothing.
    c5, m5 = commit("1.3.0", GATED)
    paused = loop.wait(lambda: _phase(loop, "Paused", 4), "1.3.0 paused at the gate")
    assert argocd_health(paused)[0] == "Suspended"
    assert loop.flux_ready()[0] != "True"
    kubeconfig = str(cluster.kubeconfig)
    assert mdep(["promote", NAME, "-n", namespace, "--kubeconfig", kubeconfig, "--timeout", "30"]) == 0
    loop.timeline.mark("kubectl mdep promote answered")
    gated = loop.wait(lambda: _phase(loop, "Promoted", 4), "1.3.0 promoted by request")
    assert gated["status"]["stable"]["modelVersion"] == "1.3.0"
    loop.wait(lambda: _flux(loop, "True", c5), "Flux Ready on c5")
    quiet(c5, m5, len(loop.applied_revisions(c5)))

    # 6. `kubectl mdep abort`: Degraded, Flux's health check fails, and again nothing is reverted.
    c6, m6 = commit("1.4.0", GATED)
    loop.wait(lambda: _phase(loop, "Paused", 5), "1.4.0 paused at the gate")
    assert mdep(["abort", NAME, "-n", namespace, "--kubeconfig", kubeconfig, "--timeout", "30"]) == 0
    loop.timeline.mark("kubectl mdep abort answered")
    aborted = loop.wait(lambda: _phase(loop, "Degraded", 5), "1.4.0 aborted")
    assert aborted["status"]["stable"]["modelVersion"] == "1.3.0"
    assert argocd_health(aborted)[0] == "Degraded"
    _, reason, _ = loop.wait(lambda: _flux(loop, "False", c6), "Flux health check fails on the abort")
    assert reason == "HealthCheckFailed"
    quiet(c6, m6, len(loop.applied_revisions(c6)))
    after = loop.md()
    assert after is not None
    assert spec_writers(after) == {"kustomize-controller"}  # only Flux ever wrote the spec

    # 7. Remove the manifest from Git: Flux prunes the ModelDeployment, the garbage collector its children.
    c7 = loop.push("remove scorer", {MANIFEST: None, f"{PATH}/kustomization.yaml": kustomization_file([])})
    loop.wait(lambda: loop.md() is None, "ModelDeployment pruned")
    loop.wait(lambda: _flux(loop, "True", c7), "Flux Ready after the prune")
    empty = {"deployments": [], "services": [], "httproutes": []}
    loop.wait(lambda: children(cluster, namespace) == empty or None, "children garbage-collected", 90)
    loop.timeline.mark("children gone")


def test_the_shipped_flux_manifests_are_valid_for_this_flux(
    cluster: ClusterHandle, flux: FluxControllers
) -> None:
    """deploy/flux/*.yaml (shown in the README) against the real Flux CRDs: a server-side dry run with strict
    field validation refuses an unknown or misspelt field."""
    cluster.kubectl("create", "namespace", "flux-system", check=False)
    for path in sorted((ROOT / "deploy" / "flux").glob("*.yaml")):
        done = cluster.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", str(path), check=False)
        assert done.returncode == 0, f"{path.name}: {done.stderr}"
        assert "(server dry run)" in done.stdout


def test_a_new_object_is_in_progress_until_the_operator_has_seen_it(
    cluster: ClusterHandle, crds: list[str], namespace: str
) -> None:
    """No operator runs here: the object as the API serves it, before any status write, must not read as
    healthy. Without the CRD's status default kstatus would call it Current (no conditions at all), and
    Flux's health check would pass for a ModelDeployment nobody had looked at."""
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(model_deployment("fresh")))
    body = json.loads(cluster.kubectl("get", "mdep", "fresh", "-n", namespace, "-o", "json").stdout)
    assert body["metadata"]["generation"] == 1
    assert body["status"]["observedGeneration"] == 0  # kstatus: LatestGenerationNotObserved, InProgress
    assert "phase" not in body["status"]
    assert argocd_health(body) == ("Progressing", "Waiting for the operator to observe generation 1")
