"""The backend contract suite, run against the Azure ML backend on the SDK fakes (managed and Kubernetes)."""

from __future__ import annotations

import pytest

from tests.backends.azureml.rig import Rig, example_spec
from tests.backends.contract import BackendContract, BackendHarness


class TestManagedEndpointContract(BackendContract):
    @pytest.fixture
    def harness(self) -> BackendHarness:
        rig = Rig(example_spec("propensity-scorer"))
        return BackendHarness(rig.backend, rig.owner, rig.request, rig.ws.settle, supports_mirror=True)


class TestKubernetesEndpointContract(BackendContract):
    @pytest.fixture
    def harness(self) -> BackendHarness:
        rig = Rig(example_spec("anomaly-detector"))
        return BackendHarness(rig.backend, rig.owner, rig.request, rig.ws.settle, supports_mirror=False)
