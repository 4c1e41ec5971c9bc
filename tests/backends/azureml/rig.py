"""An AzureMLBackend on the SDK fakes, built from the examples' specs, with an injected clock; no sleeping."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.azureml.backend import AzureMLBackend, AzureMLClients
from modeldeploy.backends.azureml.breaker import CircuitBreaker
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.ports import Owner, RevisionRequest
from modeldeploy.retry import RetryPolicy
from tests.backends.azureml.fakes import FakeWorkspace

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
OWNER = Owner(namespace="ml-serving", name="budget-optimizer", uid="5b0c1b9e-0000-4000-8000-000000000001")


def example_manifest(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / f"azureml-{name}.yaml").read_text())
    return loaded


def example_spec(name: str, **overrides: Any) -> ModelDeploymentSpec:
    """An example's spec; ``overrides`` replace top-level spec fields (in manifest form)."""
    spec = example_manifest(name)["spec"] | overrides
    return ModelDeploymentSpec.model_validate(spec)


def variant(spec: ModelDeploymentSpec, index: int) -> ModelDeploymentSpec:
    """The same spec with another model version: a distinct revision."""
    manifest = spec.to_manifest()
    manifest["model"]["version"] = f"{index + 1}.0.0"
    if "registry" in manifest["model"]:
        manifest["model"]["registry"] = f"azureml:{manifest['model']['name']}:{index + 1}"
    return ModelDeploymentSpec.model_validate(manifest)


def revision_name(owner: Owner, spec: ModelDeploymentSpec) -> str:
    digest = hashlib.sha256(json.dumps(spec.serving_fingerprint(), sort_keys=True).encode()).hexdigest()
    return f"{owner.name}-{digest[:10]}"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@dataclass
class Rig:
    spec: ModelDeploymentSpec
    owner: Owner = OWNER
    clock: Clock = field(default_factory=Clock)
    ws: FakeWorkspace = field(init=False)
    backend: AzureMLBackend = field(init=False)

    def __post_init__(self) -> None:
        target = self.spec.target.azureml
        assert target is not None
        self.ws = FakeWorkspace(target.subscription_id, target.resource_group, target.workspace)
        self.backend = self.new_backend()

    def new_backend(self) -> AzureMLBackend:
        """A fresh backend on the same Azure: what the operator has after a restart."""
        target = self.spec.target.azureml
        assert target is not None
        clients = AzureMLClients(
            self.ws.online_endpoints,
            self.ws.online_deployments,
            self.ws.autoscale_settings,
            self.ws.diagnostic_settings,
        )
        retry = RetryPolicy(
            attempts=4, base_delay=1.0, max_delay=30.0, sleep=self.clock.sleep, jitter=lambda: 1.0
        )
        breaker = CircuitBreaker(threshold=3, cooldown=120.0, clock=self.clock.monotonic)
        return AzureMLBackend(clients, target, guard=Guard(retry, breaker), now=self.clock)

    def request(
        self, index: int = 0, min_replicas: int | None = None, spec: ModelDeploymentSpec | None = None
    ) -> RevisionRequest:
        chosen = variant(spec or self.spec, index)
        return RevisionRequest(name=revision_name(self.owner, chosen), spec=chosen, min_replicas=min_replicas)
