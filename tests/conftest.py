"""Shared fixtures: a real Kubernetes control plane per test session and a fresh namespace per test."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from kubernetes import client, config

from localkube.testing import ClusterHandle, start_for_tests
from tests.azurite import azurite as azurite  # the session's Azurite, for any test that asks

if TYPE_CHECKING:
    from kdap_infra.testing import ProgramRun

ROOT = Path(__file__).resolve().parent.parent
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterHandle]:
    handle = start_for_tests()
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture(scope="session")
def kubectl(cluster: ClusterHandle) -> Kubectl:
    return cluster.kubectl


@pytest.fixture(scope="session")
def k8s_api(cluster: ClusterHandle) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


@pytest.fixture(scope="session")
def crds(cluster: ClusterHandle) -> list[str]:
    """Every CRD in crds/, applied and Established."""
    files = sorted((ROOT / "crds").glob("*.yaml"))
    names: list[str] = []
    for f in files:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(f))
        out = cluster.kubectl("get", "-f", str(f), "-o", "name").stdout.split()
        names.extend(out)
    for name in names:
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", name)
    return names


@pytest.fixture
def namespace(request: pytest.FixtureRequest, cluster: ClusterHandle) -> Iterator[str]:
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{base}-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


GATEWAY = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "public", "namespace": "gateways"},
    "spec": {"gatewayClassName": "example", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
}


@pytest.fixture(scope="session")
def gateway(cluster: ClusterHandle) -> str:
    """The Gateway ``gateways/public`` that test HTTPRoutes attach to (no controller serves it here)."""
    import json

    cluster.kubectl("create", "namespace", "gateways", check=False)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(GATEWAY))
    return "gateways/public"


# Each Pulumi stack evaluated once per session under mocks, shared by tests/infra and tests/seam (each had
# its own copy, so both stacks ran twice). Imported lazily: most tests never touch infra.
@pytest.fixture(scope="session")
def dev() -> ProgramRun:
    from kdap_infra.testing import run_stack

    return run_stack("dev")


@pytest.fixture(scope="session")
def prod() -> ProgramRun:
    from kdap_infra.testing import run_stack

    return run_stack("prod")


@pytest.fixture(scope="session")
def managed_llm() -> ProgramRun:
    """A stack whose LLM is served by a managed online endpoint (serverless.endpointKind: managed)."""
    from kdap_infra.config import parse_config
    from kdap_infra.testing import run_config
    from tests.infra.configs import managed_llm as config

    return run_config(parse_config(config()), "managed")


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> ProgramRun:
    run: ProgramRun = request.getfixturevalue(request.param)
    return run
