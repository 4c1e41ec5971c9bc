"""Finding 7: generated pods ran with no securityContext and mounted an API token they never need."""

from __future__ import annotations

from typing import Any

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.kubernetes import batch_manifests as bm
from modeldeploy.backends.kubernetes import manifests as mf
from modeldeploy.ports import Owner
from tests.api.batch_cases import batch_kubernetes

OWNER = Owner("team-a", "m", "uid-m")


def _pod(service_account: str | None = None) -> dict[str, object]:
    w = mf.Workload(
        revision="m-1", image="registry.example/m:1", port=8080, replicas=1, service_account=service_account
    )
    pod: dict[str, object] = mf.deployment(OWNER, w)["spec"]["template"]["spec"]
    return pod


def test_pods_run_restricted_and_without_an_api_token() -> None:
    pod = _pod()
    assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]  # type: ignore[misc]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }


def test_a_named_service_account_gets_its_token() -> None:
    pod = _pod("model-reader")
    assert pod["serviceAccountName"] == "model-reader"
    assert pod["automountServiceAccountToken"] is True


def _batch_pods(service_account: str | None = None) -> list[dict[str, Any]]:
    """A batch model's scoring pod as its PodTemplate, a run's Job and a schedule's CronJob carry it."""
    body = batch_kubernetes()
    if service_account is not None:
        body["target"]["kubernetes"]["serviceAccountName"] = service_account
    template = bm.pod_template(OWNER, "m-1", ModelDeploymentSpec.model_validate(body))
    run = bm.RunInput("file:///data/in/")
    job = bm.job(OWNER, template, "m-1-run", "manual", run)
    cron = bm.cronjob(OWNER, template, "m-1-nightly", "nightly", "0 2 * * *", "UTC", run)
    return [
        template["template"]["spec"],
        job["spec"]["template"]["spec"],
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"],
    ]


def test_batch_scoring_pods_run_restricted_and_without_an_api_token() -> None:
    """Before, a batch model's pods (PodTemplate, Jobs, CronJobs) had no securityContext and mounted the
    namespace's default ServiceAccount token: the restriction applied to online revisions only."""
    for pod in _batch_pods():
        assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        }


def test_a_batch_model_with_a_named_service_account_gets_its_token() -> None:
    for pod in _batch_pods("propensity-batch"):
        assert pod["serviceAccountName"] == "propensity-batch"
        assert pod["automountServiceAccountToken"] is True
