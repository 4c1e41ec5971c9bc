"""Adapter rollouts through the operator's reconciler, on the serverless backend over the SDK fakes: the
canary machinery moves the gateway's per-adapter weights; a failing adapter version goes back to 0 % while
another adapter of the same endpoint keeps its own routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modeldeploy.api import ModelDeploymentSpec
from modeldeploy.api.status import ModelDeploymentStatus, Verdict
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.registry import AzureMLModelRegistry
from modeldeploy.backends.azureml.serverless import ServerlessBackend
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.ports import Owner, ServingBackend
from tests.api.mdep_cases import serverless_canary
from tests.backends.azureml.model_fakes import FakeModels
from tests.controller.fakes import FakeEvents, FakeStore, FixedAnalysis, NoRetraining
from tests.llm.fakes import FakeNamedValues, FakeServerlessEndpoints

T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def _spec(adapter: str, version: str, tag_stages: bool = False) -> dict[str, Any]:
    body = serverless_canary()
    body["model"]["tagStages"] = tag_stages
    body["target"]["serverless"]["adapter"] = adapter
    body["model"].update(
        name=adapter,
        registry=f"azureml://registries/kdap-models/models/{adapter}-lora/versions/{version}",
    )
    return ModelDeploymentSpec.model_validate(body).to_manifest()


class Adapter:
    """One ModelDeployment (one adapter) reconciled against the shared endpoint, registry and gateway."""

    def __init__(self, name: str, platform: Platform) -> None:
        self.name, self.store, self.events = name, FakeStore(), FakeEvents()
        self.analysis = FixedAnalysis()
        self.now = T0
        backends: dict[str, ServingBackend] = {}

        def backend(owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend:
            assert spec.target.serverless is not None
            if name not in backends:
                backends[name] = ServerlessBackend(
                    platform.endpoints,
                    lambda r: platform.registry,
                    platform.gateway,
                    spec.target.serverless,
                    guard=Guard(),
                )
            return backends[name]

        self.reconciler = Reconciler(
            backend,
            self.store,
            self.events,
            self.analysis,
            NoRetraining(),
            clock=lambda: self.now,
            registry=AzureMLModelRegistry(lambda target, registry: platform.registry),
        )
        self.tag_stages = False

    def settle(self, version: str, generation: int, rounds: int = 14) -> ModelDeploymentStatus:
        for _ in range(rounds):
            body = {
                "metadata": {
                    "namespace": "team-llm",
                    "name": self.name,
                    "uid": f"uid-{self.name}",
                    "generation": generation,
                    "resourceVersion": str(self.store.version),
                },
                "spec": _spec(self.name, version, self.tag_stages),
                "status": self.store.status.to_body(),
            }
            out = self.reconciler.reconcile(body)
            self.now += timedelta(seconds=out.requeue_after or 1)
        return self.store.status


class Platform:
    """What infra creates: the serverless endpoint, the registry's adapters and one route table each."""

    def __init__(self, adapters: tuple[str, ...]) -> None:
        self.endpoints = FakeServerlessEndpoints()
        self.endpoints.add("llama-31-8b")
        self.registry = FakeModels(registry="kdap-models")
        self.gateway = FakeNamedValues()
        for adapter in adapters:
            for v in ("3", "4"):
                self.registry.register(f"{adapter}-lora", v)
            self.gateway.declare(f"llama-31-8b-adapter-{adapter}")

    def weights(self, adapter: str) -> dict[str, int]:
        _, live, _ = self.gateway.routes(f"llama-31-8b-adapter-{adapter}")
        return {adapter_id: w for _, adapter_id, w in live if w}


def test_a_new_adapter_version_is_canaried_by_the_gateway_and_promoted() -> None:
    platform = Platform(("coding",))
    coding = Adapter("coding", platform)
    first = coding.settle("3", 1)
    assert first.phase == "Promoted"
    assert platform.weights("coding") == {"coding-lora:3": 100}
    seen: list[dict[str, int]] = []
    coding.analysis.runs.clear()
    for _ in range(14):
        coding.settle("4", 2, rounds=1)
        seen.append(platform.weights("coding"))
    assert {"coding-lora:3": 90, "coding-lora:4": 10} in seen  # the canary step, in the gateway
    assert coding.store.status.phase == "Promoted"
    assert platform.weights("coding") == {"coding-lora:4": 100}
    assert coding.analysis.runs
    assert coding.analysis.runs[0].revision == coding.store.status.stable.name


def test_a_failing_adapter_version_is_rolled_back_and_the_other_adapter_keeps_serving() -> None:
    platform = Platform(("coding", "creative"))
    coding, creative = Adapter("coding", platform), Adapter("creative", platform)
    assert coding.settle("3", 1).phase == "Promoted"
    assert creative.settle("3", 1).phase == "Promoted"
    creative.settle("4", 2)
    assert creative.store.status.phase == "Promoted"
    coding.analysis.verdict = Verdict.FAILED
    status = coding.settle("4", 2)
    assert status.phase == "RolledBack"
    assert platform.weights("coding") == {"coding-lora:3": 100}
    assert platform.weights("creative") == {"creative-lora:4": 100}  # untouched by the other's rollback
    assert [f.reason for f in status.failed_revisions] == ["AnalysisFailed"]
    assert ("Warning", "AnalysisFailed") in [(str(t), reason) for t, reason, _ in coding.events.events]


def test_deleting_the_modeldeployment_unroutes_its_adapter_only() -> None:
    platform = Platform(("coding", "creative"))
    coding, creative = Adapter("coding", platform), Adapter("creative", platform)
    coding.settle("3", 1)
    creative.settle("3", 1)
    body = {
        "metadata": {"namespace": "team-llm", "name": "coding", "uid": "uid-coding", "generation": 1},
        "spec": _spec("coding", "3"),
        "status": coding.store.status.to_body(),
    }
    assert Reconciler.needs_finalizer(body)  # the route table is in Azure: no garbage collector sees it
    coding.reconciler.finalize(body)
    assert platform.gateway.values["llama-31-8b-adapter-coding"][0] == "unrouted"
    assert platform.weights("creative") == {"creative-lora:3": 100}


def test_adapter_versions_carry_their_stage_in_the_registry() -> None:
    # Seed 003 registers each adapter with stage tags: the registry says what the gateway serves.
    platform = Platform(("coding",))
    coding = Adapter("coding", platform)
    coding.tag_stages = True
    coding.settle("3", 1)
    assert platform.registry.tags("coding-lora", "3")["stage"] == "production"
    coding.settle("4", 2)
    assert platform.registry.tags("coding-lora", "4")["stage"] == "production"
    assert platform.registry.tags("coding-lora", "3")["stage"] == "archived"
    assert platform.registry.stage("coding-lora", "4") == "Production"
