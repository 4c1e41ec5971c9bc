"""The Kubernetes backend against the real apiserver: revisions run on kwok nodes, routes carry traffic."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from localkube.testing import ClusterHandle
from modeldeploy.backends.kubernetes import from_spec
from modeldeploy.backends.kubernetes.backend import KubernetesBackend
from modeldeploy.ports import BackendError, Owner, RevisionRequest
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit
from tests.backends.kubernetes.specs import kubernetes_spec, real_owner

pytestmark = pytest.mark.cluster


def _wait_state(get: Callable[[], RevisionState], want: Readiness, timeout: float = 60) -> RevisionState:
    end = time.monotonic() + timeout
    state = get()
    while state.readiness != want and time.monotonic() < end:
        time.sleep(0.3)
        state = get()
    assert state.readiness == want, state
    return state


@pytest.fixture
def backend(k8s_api: client.ApiClient, gateway: str) -> KubernetesBackend:
    return KubernetesBackend(DynamicClient(k8s_api), from_spec.route(kubernetes_spec()), from_spec.workload)


@pytest.fixture
def owner(cluster: ClusterHandle, crds: list[str], namespace: str) -> Owner:
    return real_owner(cluster, namespace, "scorer")


def test_revision_becomes_ready_and_ensure_is_idempotent(backend: KubernetesBackend, owner: Owner) -> None:
    req = RevisionRequest("scorer-aaaa", kubernetes_spec())
    first = backend.ensure_revision(owner, req)
    assert first.readiness in (Readiness.PROGRESSING, Readiness.READY)
    ready = _wait_state(lambda: backend.revision_state(owner, "scorer-aaaa"), Readiness.READY)
    assert ready.ready_replicas == 1
    again = backend.ensure_revision(owner, req)
    assert again.readiness == Readiness.READY
    assert backend.revision_state(owner, "scorer-missing").readiness == Readiness.MISSING


def test_traffic_split_and_mirror_round_trip(backend: KubernetesBackend, owner: Owner) -> None:
    assert backend.observed_traffic(owner) is None
    canary = TrafficSplit({"scorer-a": 75, "scorer-b": 25})
    backend.set_traffic(owner, canary)
    assert backend.observed_traffic(owner) == canary
    shadow = TrafficSplit({"scorer-a": 100}, mirror="scorer-b", mirror_percent=30)
    backend.set_traffic(owner, shadow)
    assert backend.observed_traffic(owner) == shadow
    backend.set_traffic(owner, TrafficSplit({"scorer-b": 100}))
    assert backend.observed_traffic(owner) == TrafficSplit({"scorer-b": 100})


def test_missing_gateway_is_a_clear_error_and_leaves_traffic_alone(
    k8s_api: client.ApiClient, owner: Owner
) -> None:
    spec = kubernetes_spec()
    spec.target.kubernetes.gateway.name = "nowhere"  # type: ignore[union-attr]
    lost = KubernetesBackend(DynamicClient(k8s_api), from_spec.route(spec), from_spec.workload)
    with pytest.raises(
        BackendError, match=r"Gateway gateways/nowhere \(spec.target.kubernetes.gateway\) does not exist"
    ):
        lost.set_traffic(owner, TrafficSplit({"scorer-a": 100}))
    assert lost.observed_traffic(owner) is None


def test_autoscaled_revision_gets_an_hpa(
    backend: KubernetesBackend, owner: Owner, k8s_api: client.ApiClient
) -> None:
    spec = kubernetes_spec(autoscaling={"minReplicas": 2, "maxReplicas": 5, "scaleInDelay": "2m"})
    backend.ensure_revision(owner, RevisionRequest("scorer-hpa", spec))
    hpa = client.AutoscalingV2Api(k8s_api).read_namespaced_horizontal_pod_autoscaler(
        "scorer-hpa", owner.namespace
    )
    assert hpa.spec.min_replicas == 2
    assert hpa.spec.max_replicas == 5
    assert hpa.spec.behavior.scale_down.stabilization_window_seconds == 120
    assert hpa.spec.metrics[0].resource.target.average_utilization == 70


def test_delete_revision_then_delete_all(
    backend: KubernetesBackend, owner: Owner, k8s_api: client.ApiClient
) -> None:
    for name in ("scorer-one", "scorer-two"):
        backend.ensure_revision(owner, RevisionRequest(name, kubernetes_spec()))
    backend.set_traffic(owner, TrafficSplit({"scorer-one": 100}))
    backend.delete_revision(owner, "scorer-two")
    apps, core = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api)
    names = {d.metadata.name for d in apps.list_namespaced_deployment(owner.namespace).items}
    assert names == {"scorer-one"}
    backend.delete_all(owner)
    assert apps.list_namespaced_deployment(owner.namespace).items == []
    assert core.list_namespaced_service(owner.namespace).items == []
    assert backend.observed_traffic(owner) is None
