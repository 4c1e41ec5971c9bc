"""deploy/argocd: the health check's verdicts on stored objects, and the Component that installs it.

Statuses from every phase of the real rollout machine are checked beside kstatus in
tests/rollout/test_readiness.py, and on the live objects of the Flux e2e (tests/e2e/test_gitops_flux.py);
here the cases the machine alone does not produce: no status yet, a refused spec, a backend error.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tests.deploy.argocd_health import HEALTH_LUA, argocd_health, as_object

KEY = "resource.customizations.health.mlops.kdap.io_ModelDeployment"


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def test_an_object_the_operator_has_not_seen_is_progressing() -> None:
    assert argocd_health(as_object(None))[0] == "Progressing"
    assert argocd_health(as_object({"conditions": []}))[0] == "Progressing"


def test_an_older_generations_promoted_status_is_not_healthy() -> None:
    promoted = {"phase": "Promoted", "observedGeneration": 3, "message": "revision m-1 serves 100%"}
    assert argocd_health(as_object(promoted, generation=3)) == ("Healthy", "revision m-1 serves 100%")
    status, message = argocd_health(as_object(promoted, generation=4))
    assert status == "Progressing"
    assert message == "Waiting for the operator to observe generation 4"


def test_a_refused_spec_is_degraded_with_the_field_and_rule() -> None:
    denied = cond("SpecValid", "False", "PolicyDenied", 'spec.target: storage account "evil" is not granted')
    body = {"phase": "Promoted", "observedGeneration": 2, "conditions": [denied]}
    status, message = argocd_health(as_object(body, generation=2))
    assert status == "Degraded"
    assert message == 'PolicyDenied: spec.target: storage account "evil" is not granted'


def test_a_backend_error_keeps_a_promoted_object_progressing() -> None:
    body = {
        "phase": "Promoted",
        "observedGeneration": 1,
        "conditions": [
            cond("BackendHealthy", "False", "Throttled", "429"),
            cond("SpecValid", "True", "Valid"),
        ],
    }
    assert argocd_health(as_object(body)) == ("Progressing", "Throttled: 429")


def test_every_failed_phase_is_degraded_and_paused_is_suspended() -> None:
    for phase, want in [
        ("Pending", "Progressing"),
        ("Progressing", "Progressing"),
        ("Paused", "Suspended"),
        ("Promoted", "Healthy"),
        ("RolledBack", "Degraded"),
        ("Degraded", "Degraded"),
        ("Failed", "Degraded"),
    ]:
        assert argocd_health(as_object({"phase": phase, "observedGeneration": 1}))[0] == want, phase


def test_the_component_puts_the_script_into_argocd_cm(tmp_path: Path) -> None:
    (tmp_path / "kdap-argocd").symlink_to(ROOT / "deploy" / "argocd")
    base = tmp_path / "argocd"
    base.mkdir()
    (base / "cm.yaml").write_text(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"}, "data": {"a": "b"}}
        )
    )
    (base / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": "argocd",
                "resources": ["cm.yaml"],
                "components": [str(Path("..") / "kdap-argocd")],
            }
        )
    )
    out = subprocess.run(
        ["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone", str(base)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    (cm,) = list(yaml.safe_load_all(out.stdout))
    assert cm["metadata"] == {"name": "argocd-cm", "namespace": "argocd"}
    assert cm["data"]["a"] == "b"  # merged into the existing ConfigMap, nothing else replaced
    assert cm["data"][KEY] == HEALTH_LUA.read_text()
