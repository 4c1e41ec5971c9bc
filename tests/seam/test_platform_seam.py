"""Across the seam: what `pulumi up` builds (dev and prod, under Pulumi mocks) the operator deploys into.

Azure ML's SDK fakes are seeded with exactly the endpoints infra registered (names, tags, auth, kind); each
seed model's ModelDeployment is rolled by the operator's Azure ML backend through a canary to 100 % on them;
then every link (API route, alerts, tags, data collector) is checked, and each is broken once to see the
failure name it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kdap_infra.testing import ProgramRun
from modeldeploy.api import platform
from modeldeploy.api.azure_names import TAG_OWNER, deployment_name
from modeldeploy.api.handoff import Handoff, apply_platform_defaults
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.backends.azureml.backend import AzureMLBackend, AzureMLClients
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.ports import BackendError, Owner, RevisionRequest
from modeldeploy.retry import RetryPolicy
from modeldeploy.rollout.serving import Readiness, TrafficSplit
from tests.backends.azureml.fakes import FakeWorkspace
from tests.backends.azureml.rig import revision_name, variant
from tests.seam.platform_world import (
    SEED_EXAMPLES,
    Served,
    broken_links,
    example,
    handoff,
    seed_workspace,
    spec_for,
)


def on_stack(run: ProgramRun, model: str) -> dict[str, Any]:
    """The seed example with the target fields the stack's handoff provides (prod's are already these)."""
    manifest = example(SEED_EXAMPLES[model])
    h, declared = handoff(run), handoff(run)["models"][model]
    aml = manifest["spec"]["target"]["azureml"]
    aml |= {"resourceGroup": h["resourceGroup"], "workspace": h["workspace"]}
    aml |= {"endpointName": declared["endpointName"], "endpointKind": declared["endpointKind"]}
    if declared["compute"] is not None:
        aml["compute"] = declared["compute"]
    return manifest


def backend_on(ws: FakeWorkspace, spec: ModelDeploymentSpec) -> AzureMLBackend:
    assert spec.target.azureml is not None
    clients = AzureMLClients(
        ws.online_endpoints, ws.online_deployments, ws.autoscale_settings, ws.diagnostic_settings
    )
    retry = RetryPolicy(attempts=1, sleep=lambda _: None)
    return AzureMLBackend(clients, spec.target.azureml, guard=Guard(retry))


def ready(backend: AzureMLBackend, ws: FakeWorkspace, owner: Owner, request: RevisionRequest) -> None:
    backend.ensure_revision(owner, request)
    ws.settle()
    assert backend.ensure_revision(owner, request).readiness is Readiness.READY


def roll(run: ProgramRun, model: str, manifest: dict[str, Any], ws: FakeWorkspace) -> Served:
    """A stable revision at 100 %, then a candidate through 10 / 50 / 100 %, then the old one removed."""
    owner, spec = spec_for(run, model, manifest)
    backend = backend_on(ws, spec)
    stable, candidate = (variant(spec, i) for i in (0, 1))
    old = RevisionRequest(revision_name(owner, stable), stable)
    new = RevisionRequest(revision_name(owner, candidate), candidate)
    ready(backend, ws, owner, old)
    backend.set_traffic(owner, TrafficSplit({old.name: 100}))
    ready(backend, ws, owner, new)
    for weight in (10, 50):
        backend.set_traffic(owner, TrafficSplit({old.name: 100 - weight, new.name: weight}))
    backend.set_traffic(owner, TrafficSplit({new.name: 100}))
    backend.delete_revision(owner, old.name)
    assert spec.target.azureml is not None
    return Served(model, spec.target.azureml.endpoint_name, deployment_name(new.name))


@pytest.mark.parametrize("model", sorted(SEED_EXAMPLES))
def test_each_seed_model_rolls_onto_the_endpoint_infra_created_with_every_link_intact(
    stack: ProgramRun, model: str
) -> None:
    ws = seed_workspace(stack)
    infra_endpoints = {name: (rest.tags, rest.properties.auth_mode) for name, rest in ws.endpoints.items()}
    served = roll(stack, model, on_stack(stack, model), ws)
    # The operator deployed into infra's endpoint: no endpoint of its own, tags and auth as infra set them.
    assert {
        name: (rest.tags, rest.properties.auth_mode) for name, rest in ws.endpoints.items()
    } == infra_endpoints
    assert ws.count("online_endpoints.begin_create_or_update") == 4  # the four traffic changes, nothing else
    assert dict(ws.endpoints[served.endpoint].properties.traffic) == {served.deployment: 100}
    assert broken_links(stack, ws, served) == []


def test_deleting_the_model_deployment_empties_the_platform_endpoint_and_keeps_it(prod: ProgramRun) -> None:
    ws = seed_workspace(prod)
    served = roll(prod, "budget-optimizer", on_stack(prod, "budget-optimizer"), ws)
    owner, spec = spec_for(prod, "budget-optimizer", on_stack(prod, "budget-optimizer"))
    backend_on(ws, spec).delete_all(owner)
    assert served.endpoint in ws.endpoints  # its API route and alerts still point at it
    assert ws.endpoint_deployments(served.endpoint) == {}
    assert ws.count("online_endpoints.begin_delete") == 0


def test_a_renamed_endpoint_is_named_as_the_broken_link(prod: ProgramRun) -> None:
    ws = seed_workspace(prod)
    manifest = on_stack(prod, "budget-optimizer")
    manifest["spec"]["target"]["azureml"]["endpointName"] = "budget-optimizer"
    served = roll(prod, "budget-optimizer", manifest, ws)
    (broken,) = broken_links(prod, ws, served)
    assert broken == (
        "endpoint: budget-optimizer serves on budget-optimizer, infra created kdap-budget-optimizer-p4k9"
    )


def test_an_endpoint_without_the_owner_tag_is_refused_naming_the_tag(prod: ProgramRun) -> None:
    ws = seed_workspace(prod)
    endpoint = handoff(prod)["models"]["budget-optimizer"]["endpointName"]
    del ws.endpoints[endpoint].tags[TAG_OWNER]
    with pytest.raises(BackendError, match=r"no kdap-owner tag") as caught:
        roll(prod, "budget-optimizer", on_stack(prod, "budget-optimizer"), ws)
    assert caught.value.reason == "NotOwned"


def test_a_model_deployment_in_another_namespace_is_refused_naming_the_owner(prod: ProgramRun) -> None:
    ws = seed_workspace(prod)
    manifest = on_stack(prod, "budget-optimizer")
    manifest["metadata"]["namespace"] = "team-x"
    with pytest.raises(
        BackendError, match="managed by ml-serving/budget-optimizer, not team-x/budget-optimizer"
    ):
        roll(prod, "budget-optimizer", manifest, ws)


def test_collection_off_is_named_as_the_broken_link(prod: ProgramRun) -> None:
    ws = seed_workspace(prod)
    manifest = on_stack(prod, "budget-optimizer")
    del manifest["spec"]["analysis"]["drift"]  # no drift: the operator leaves the data collector off
    served = roll(prod, "budget-optimizer", manifest, ws)
    assert broken_links(prod, ws, served) == [
        f"data collector {c}: off on deployment {served.deployment} of {served.endpoint}"
        for c in platform.COLLECTIONS
    ]


def test_another_auth_mode_on_a_platform_endpoint_is_refused_not_applied(prod: ProgramRun) -> None:
    ws = seed_workspace(prod)
    manifest = on_stack(prod, "budget-optimizer")
    manifest["spec"]["target"]["azureml"]["authMode"] = "key"
    refused = r"authMode: endpoint kdap-budget-optimizer-p4k9 belongs to platform stack kdap-prod with auth"
    with pytest.raises(BackendError, match=refused):
        roll(prod, "budget-optimizer", manifest, ws)
    assert ws.count("online_endpoints.begin_create_or_update") == 0


@pytest.mark.parametrize("model", sorted(SEED_EXAMPLES))
def test_a_model_deployment_that_names_no_azure_resource_rolls_onto_the_platform_endpoint(
    stack: ProgramRun, model: str
) -> None:
    """The handoff the stack publishes (its ConfigMap's handoff.json) fills what the spec leaves out: the
    subscription, resource group, workspace, endpoint name, kind, compute and Log Analytics workspace."""
    manifest = example(SEED_EXAMPLES[model])
    aml = manifest["spec"]["target"]["azureml"]
    for key in ("subscriptionId", "resourceGroup", "workspace", "endpointName", "endpointKind", "compute"):
        aml.pop(key, None)
    aml.pop("instanceType")
    aml.pop("logAnalyticsWorkspaceId", None)
    meta = manifest["metadata"]
    published = json.loads(json.dumps(handoff(stack)))  # what the ConfigMap carries: JSON, nothing else
    filled, pins = apply_platform_defaults(
        meta["namespace"], meta["name"], manifest["spec"], {}, Handoff.parse("stack output", published)
    )
    declared = handoff(stack)["models"][model]
    assert pins == {
        "subscriptionId": handoff(stack)["subscriptionId"],
        "resourceGroup": handoff(stack)["resourceGroup"],
        "workspace": handoff(stack)["workspace"],
        "endpointName": declared["endpointName"],
        "endpointKind": declared["endpointKind"],
        "instanceType": declared["instanceType"],
    }
    # The platform's instance type is the one the seed examples use (one default across infra and seeds).
    assert (
        declared["instanceType"] == example(SEED_EXAMPLES[model])["spec"]["target"]["azureml"]["instanceType"]
    )
    # The named value the operator writes the promoted version to is the one infra created in its APIM.
    values = stack.of_type("azure-native:apimanagement:NamedValue")
    named = {r.inputs["namedValueId"]: r.inputs for r in values}
    assert named[declared["versionNamedValue"]]["serviceName"] == handoff(stack)["apim"]["serviceName"]
    ws = seed_workspace(stack)
    served = roll(stack, model, {**manifest, "spec": filled}, ws)
    assert served.endpoint == declared["endpointName"]
    assert broken_links(stack, ws, served) == []
