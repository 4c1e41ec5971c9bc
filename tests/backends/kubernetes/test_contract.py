"""The shared backend contract, run against the Kubernetes backend on the real control plane."""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from localkube.testing import ClusterHandle
from modeldeploy.backends.kubernetes import from_spec
from modeldeploy.backends.kubernetes.backend import KubernetesBackend
from modeldeploy.ports import RevisionRequest
from tests.backends.contract import BackendContract, BackendHarness
from tests.backends.kubernetes.specs import kubernetes_spec, real_owner

pytestmark = pytest.mark.cluster


class TestKubernetesContract(BackendContract):
    @pytest.fixture
    def harness(
        self, cluster: ClusterHandle, crds: list[str], k8s_api: client.ApiClient, gateway: str, namespace: str
    ) -> BackendHarness:
        spec = kubernetes_spec()
        backend = KubernetesBackend(DynamicClient(k8s_api), from_spec.route(spec), from_spec.workload)
        owner = real_owner(cluster, namespace, "contract")

        def request(variant: int) -> RevisionRequest:
            version = f"1.{variant}.0"
            return RevisionRequest(
                f"contract-v{variant}", kubernetes_spec(image=f"registry.example/scorer:{version}")
            )

        return BackendHarness(backend, owner, request, settle=lambda: time.sleep(0.5))
