"""Finding 7: generated pods ran with no securityContext and mounted an API token they never need."""

from __future__ import annotations

from modeldeploy.backends.kubernetes import manifests as mf
from modeldeploy.ports import Owner

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
