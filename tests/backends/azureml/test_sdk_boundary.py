"""The protocols' call shapes bind to the installed SDKs' real methods, and real clients build offline."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from azure.ai.ml import Input, Output
from azure.ai.ml.operations import (
    BatchDeploymentOperations,
    BatchEndpointOperations,
    JobOperations,
    OnlineDeploymentOperations,
    OnlineEndpointOperations,
    ScheduleOperations,
)
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import RetryPolicy
from azure.mgmt.monitor.operations import AutoscaleSettingsOperations

from modeldeploy.backends.azureml.clients import AzureMLBackends, azureml_batch_clients, azureml_clients
from modeldeploy.backends.azureml.diagnostics import ArmDiagnosticSettings
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
    (ArmDiagnosticSettings, "get", ("uri", "name")),
    (ArmDiagnosticSettings, "create_or_update", ("uri", "name", object())),
    (ArmDiagnosticSettings, "delete", ("uri", "name")),
    # batch.py
    (BatchEndpointOperations, "get", ("ep",)),
    (BatchEndpointOperations, "begin_create_or_update", (object(),)),
    (BatchEndpointOperations, "begin_delete", ("ep",)),
    (BatchEndpointOperations, "list_jobs", ("ep",)),
    (BatchDeploymentOperations, "get", ("dep", "ep")),
    (BatchDeploymentOperations, "list", ("ep",)),
    (BatchDeploymentOperations, "begin_create_or_update", (object(),)),
    (BatchDeploymentOperations, "begin_delete", ("dep", "ep")),
    (JobOperations, "get", ("job",)),
    (ScheduleOperations, "list", ()),
    (ScheduleOperations, "begin_create_or_update", (object(),)),
    (ScheduleOperations, "begin_delete", ("schedule",)),
]


@pytest.mark.parametrize(("cls", "method", "args"), CALLS, ids=[f"{c.__name__}.{m}" for c, m, _ in CALLS])
def test_call_shapes_bind_to_the_real_sdk(cls: Any, method: str, args: tuple[Any, ...]) -> None:
    signature = inspect.signature(inspect.unwrap(getattr(cls, method)))
    signature.bind(object(), *args)  # raises TypeError when the SDK's parameters differ


def test_the_invocation_binds_to_named_parameters_the_sdk_reads() -> None:
    """``invoke`` takes ``**kwargs``: binding alone proves nothing, so the names are checked against what its
    body reads (``kwargs.get("job_name")`` ...), and ``deployment_name`` is keyword-only."""
    method = inspect.unwrap(BatchEndpointOperations.invoke)
    inspect.signature(method).bind(
        object(),
        "ep",
        deployment_name="dep",
        input=Input(type="uri_folder", path="azureml://datastores/d/paths/in/"),
        outputs={"score": Output(type="uri_file", path="azureml://datastores/d/paths/out/p.csv")},
        job_name="churn-m-1",
        params_override=[{"properties": {"kdap_revision": "r"}}],
    )
    body = inspect.getsource(method)
    for name in ("job_name", "params_override", "outputs", "input"):
        assert f'kwargs.get("{name}"' in body, name
    with pytest.raises(TypeError):
        inspect.signature(method).bind(object(), "ep", "dep")  # the deployment is keyword-only


def test_real_batch_clients_build_without_network_and_leave_retries_to_the_guard() -> None:
    target = example_spec("budget-optimizer").target.azureml
    assert target is not None
    clients = azureml_batch_clients(target, _NoNetworkCredential())
    assert isinstance(clients.batch_endpoints, BatchEndpointOperations)
    assert isinstance(clients.batch_deployments, BatchDeploymentOperations)
    assert isinstance(clients.jobs, JobOperations)
    assert isinstance(clients.schedules, ScheduleOperations)
    for ops in (clients.batch_endpoints, clients.batch_deployments, clients.schedules):
        assert set(_retry_totals(ops)) == {0}, type(ops).__name__


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
    assert isinstance(clients.diagnostic_settings, ArmDiagnosticSettings)


def _pipelines(root: Any, depth: int = 5) -> list[Pipeline[Any, Any]]:
    """Every azure-core pipeline reachable from an operations object through its attributes."""
    found: list[Pipeline[Any, Any]] = []
    seen: set[int] = set()

    def walk(node: Any, left: int) -> None:
        if id(node) in seen or left < 0 or isinstance(node, str | bytes | int | float | bool | type(None)):
            return
        seen.add(id(node))
        if isinstance(node, Pipeline):
            found.append(node)
            return
        bound = getattr(node, "__self__", None)  # a bound method: ArmDiagnosticSettings.send
        children = [bound] if bound is not None else []
        if isinstance(node, dict):
            children += list(node.values())
        elif isinstance(node, list | tuple):
            children += list(node)
        elif hasattr(node, "__dict__"):
            children += list(vars(node).values())
        for child in children:
            walk(child, left - 1)

    walk(root, depth)
    return found


def _retry_totals(ops: Any) -> list[int]:
    pipelines = _pipelines(ops)
    assert pipelines, f"no azure-core pipeline found under {type(ops).__name__}"
    policies = [p for pipeline in pipelines for p in pipeline._impl_policies if isinstance(p, RetryPolicy)]
    assert len(policies) >= len(pipelines), "every pipeline carries a RetryPolicy"
    return [p.total_retries for p in policies]


def test_the_sdk_pipelines_do_not_retry_because_the_guard_does() -> None:
    target = example_spec("budget-optimizer").target.azureml
    assert target is not None
    clients = azureml_clients(target, _NoNetworkCredential())
    for ops in (
        clients.online_endpoints,
        clients.online_deployments,
        clients.autoscale_settings,
        clients.diagnostic_settings,
    ):
        totals = _retry_totals(ops)
        assert set(totals) == {0}, f"{type(ops).__name__}: RetryPolicy totals {totals}"


def test_the_pipeline_walk_sees_the_sdk_default_retries() -> None:
    """The check above can fail: without retry_total the same walk finds azure-core's default of 10."""
    from azure.ai.ml import MLClient

    target = example_spec("budget-optimizer").target.azureml
    assert target is not None
    ml = MLClient(_NoNetworkCredential(), target.subscription_id, target.resource_group, target.workspace)
    assert set(_retry_totals(ml.online_deployments)) == {10}


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
    assert built == ["kdap-prod-mlw"]  # same workspace: one MLClient
    assert backends.for_target(propensity).guard is first.guard
