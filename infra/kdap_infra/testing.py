"""Run the program without the Pulumi CLI or Azure: `pulumi.runtime.set_mocks` plus a recording monitor.

`run_program("dev")` loads Pulumi.dev.yaml through the same config model as `pulumi up`, evaluates the whole
composition and returns every registered resource, for unit tests and for the policy pack's own tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.rpc import _special_secret_sig as rpc_secret_sig
from pulumi.runtime.rpc import _special_sig_key as rpc_sig_key
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from kdap_infra.config import PlatformConfig, load_stack_file
from kdap_infra.mocks import SUBSCRIPTION_ID, PlatformMocks, fake_guid

__all__ = [
    "SUBSCRIPTION_ID",
    "PlatformMocks",
    "ProgramRun",
    "RecordingMonitor",
    "RegisteredResource",
    "fake_guid",
    "run_config",
    "run_program",
    "run_stack",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "kdap-platform"


@dataclass(frozen=True)
class RegisteredResource:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None
    urn: str = ""
    custom: bool = True
    secret_inputs: frozenset[str] = frozenset()  # top-level inputs that were marked secret (shown unwrapped)
    provider: str = ""  # the explicit provider reference ("urn::id"), "" for the default provider
    dependencies: frozenset[str] = frozenset()  # URNs it waits for (depends_on and the inputs' resources)


@dataclass
class ProgramRun:
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    seconds: float  # wall clock
    config: PlatformConfig
    cpu_seconds: float = 0.0  # this process's CPU time, steadier than wall clock on a shared machine

    def of_type(self, token: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == token]

    def named(self, token: str, name: str) -> RegisteredResource:
        matches = [r for r in self.of_type(token) if r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} resources of type {token} named {name}")
        return matches[0]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, also remembering each registration's parent and type (components included)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.registered.append(
                RegisteredResource(
                    type=request.type,
                    name=request.name,
                    inputs=_plain(inputs),
                    secret_inputs=frozenset(k for k, v in inputs.items() if _is_secret(v)),
                    parent=request.parent or None,
                    urn=response.urn,
                    custom=bool(request.custom),
                    provider=request.provider,
                    dependencies=frozenset(request.dependencies),
                )
            )
        return response


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc_sig_key) == rpc_secret_sig


def _plain(value: Any) -> Any:
    """Inputs as a policy pack sees them: secrets unwrapped, nested values plain."""
    if _is_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def stack_file(stack: str) -> Path:
    return REPO_ROOT / f"Pulumi.{stack}.yaml"


def run_config(config: PlatformConfig, stack: str = "test") -> ProgramRun:
    """Evaluate the composition for an already-validated config."""
    from kdap_infra.program import build_platform

    monitor = RecordingMonitor(PlatformMocks())
    pulumi.runtime.settings.reset_options()
    pulumi.runtime.set_mocks(PlatformMocks(), project=PROJECT, stack=stack, preview=False, monitor=monitor)
    collected: dict[str, Any] = {}

    def program() -> None:
        outputs = build_platform(config)
        pulumi.Output.all(**outputs).apply(collected.update)

    started, cpu_started = time.perf_counter(), time.process_time()
    _sync_await(run_pulumi_func(program))
    return ProgramRun(
        resources=list(monitor.registered),
        outputs=collected,
        seconds=time.perf_counter() - started,
        config=config,
        cpu_seconds=time.process_time() - cpu_started,
    )


def run_stack(stack: str) -> ProgramRun:
    return run_config(load_stack_file(str(stack_file(stack))), stack)


def run_program(stack: str) -> list[RegisteredResource]:
    """Every resource (components included) the program registers for Pulumi.<stack>.yaml."""
    return run_stack(stack).resources
