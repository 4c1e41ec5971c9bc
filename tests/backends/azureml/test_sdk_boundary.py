"""The protocols' call shapes bind to the installed SDKs' real methods, and real clients build offline."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from azure.ai.ml.operations import OnlineDeploymentOperations, OnlineEndpointOperations
from azure.mgmt.monitor.operations import AutoscaleSettingsOperations

from modeldeploy.backends.azureml.clients import AzureMLBackends, azureml_clients
from tests.backends.azureml.rig import example_spec

# Each call exactly as backend.py makes it (positional/keyword shape), against the real method.
CALLS: list[tuple[Any, str, tuple[Any, ...]]] = [
    (OnlineEndpointOperations, "get", ("ep",)),
    (OnlineEndpointOperations, "begin_create_or_update", (object(),)),
    (OnlineEndpointOperations, "begin_delete", ("ep",)),
    (OnlineDeploymentOperations, "get", ("dep", "ep")),
    (OnlineDeploymentOperations, "list", ("ep",)),
    (OnlineDeploymentOperations, "begin_create_or_update", (object(),)),
    (OnlineDeploymentOperations, "begin_delete", ("dep", "ep")),
    (OnlineDeploymentOperations, "get_logs", ("dep", "ep", 20)),
    (AutoscaleSettingsOperations, "get", ("rg", "name")),
    (AutoscaleSettingsOperations, "create_or_update", ("rg", "name", object())),
    (AutoscaleSettingsOperations, "delete", ("rg", "name")),
]


@pytest.mark.parametrize(("cls", "method", "args"), CALLS, ids=[f"{c.__name__}.{m}" for c, m, _ in CALLS])
def test_call_shapes_bind_to_the_real_sdk(cls: Any, method: str, args: tuple[Any, ...]) -> None:
    signature = inspect.signature(inspect.unwrap(getattr(cls, method)))
    signature.bind(object(), *args)  # raises TypeError when the SDK's parameters differ


def test_a_wrong_call_shape_is_caught() -> None:
    signature = inspect.signature(inspect.unwrap(OnlineDeploymentOperations.get))
    with pytest.raises(TypeError):
        signature.bind(object(), "dep")  # endpoint_name missing


class _NoNetworkCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("building clients must not fetch a token")


def test_real_clients_build_without_network() -> None:
    target = example_spec("budget-optimizer").target.azureml
    assert target is not None
    clients = azureml_clients(target, _NoNetworkCredential())
    assert isinstance(clients.online_endpoints, OnlineEndpointOperations)
    assert isinstance(clients.online_deployments, OnlineDeploymentOperations)
    assert isinstance(clients.autoscale_settings, AutoscaleSettingsOperations)


def test_registry_shares_clients_per_workspace_and_keeps_backends() -> None:
    built: list[str] = []

    def make(target: Any, credential: Any) -> Any:
        built.append(target.workspace)
        return azureml_clients(target, credential)

    backends = AzureMLBackends(credential=_NoNetworkCredential(), make_clients=make)
    budget = example_spec("budget-optimizer").target.azureml
    propensity = example_spec("propensity-scorer").target.azureml
    assert budget is not None
    assert propensity is not None
    first = backends.for_target(budget)
    assert backends.for_target(budget) is first
    assert backends.for_target(propensity) is not first
    assert built == ["mlw-kdap-prod"]  # same workspace: one MLClient
    assert backends.for_target(propensity).guard is first.guard
