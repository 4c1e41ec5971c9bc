"""The serverless backend on the SDK fakes: an adapter version is Ready only when the endpoint serves and
the version is registered; traffic is the adapter's route table in API Management and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from modeldeploy.api import ModelDeploymentSpec, platform
from modeldeploy.backends.azureml.guard import Guard
from modeldeploy.backends.azureml.serverless import ServerlessBackend
from modeldeploy.ports import BackendError, Owner, RevisionRequest
from modeldeploy.rollout.serving import Readiness, TrafficSplit
from tests.api.mdep_cases import serverless_canary
from tests.backends.azureml.model_fakes import FakeModels
from tests.llm.fakes import FakeNamedValues, FakeServerlessEndpoints

OWNER = Owner("team-llm", "coding", "uid-1")
TABLE = "llama-31-8b-adapter-coding"


class World:
    def __init__(self) -> None:
        self.endpoints = FakeServerlessEndpoints()
        self.endpoints.add("llama-31-8b")
        self.registry = FakeModels(registry="kdap-models")
        for v in ("3", "4"):
            self.registry.register("coding-lora", v)
        self.gateway = FakeNamedValues()
        self.gateway.declare(TABLE)
        self.asked: list[str | None] = []

        def models(registry: str | None) -> FakeModels:
            self.asked.append(registry)
            return self.registry

        spec = ModelDeploymentSpec.model_validate(serverless_canary())
        assert spec.target.serverless is not None
        self.backend = ServerlessBackend(
            self.endpoints, models, self.gateway, spec.target.serverless, guard=Guard()
        )

    def revision(self, name: str, version: str) -> RevisionRequest:
        body: dict[str, Any] = serverless_canary()
        body["model"]["registry"] = f"azureml://registries/kdap-models/models/coding-lora/versions/{version}"
        return RevisionRequest(name, ModelDeploymentSpec.model_validate(body))


def test_a_registered_version_on_a_serving_endpoint_is_listed_at_weight_zero() -> None:
    w = World()
    state = w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    assert state.readiness is Readiness.READY
    assert w.asked == ["kdap-models"]  # the adapter is looked up in the registry its reference names
    assert w.gateway.routes(TABLE) == ("team-llm/coding", [("coding-aaa", "coding-lora:3", 0)], None)
    assert w.backend.observed_traffic(OWNER) is None  # listed is not routed
    writes = len(w.gateway.writes)
    assert w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3")).readiness is Readiness.READY
    assert len(w.gateway.writes) == writes  # idempotent: a repeat writes nothing


def test_traffic_is_the_route_table_and_reads_back() -> None:
    w = World()
    w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    w.backend.ensure_revision(OWNER, w.revision("coding-bbb", "4"))
    w.backend.set_traffic(OWNER, TrafficSplit({"coding-aaa": 90, "coding-bbb": 10}))
    assert w.gateway.values[TABLE][0] == (
        "owner|team-llm/coding,coding-aaa|coding-lora:3|90,coding-bbb|coding-lora:4|10"
    )
    assert w.backend.observed_traffic(OWNER) == TrafficSplit({"coding-aaa": 90, "coding-bbb": 10})
    w.backend.set_traffic(OWNER, TrafficSplit({"coding-aaa": 100}, mirror="coding-bbb", mirror_percent=25))
    assert w.backend.observed_traffic(OWNER) == TrafficSplit({"coding-aaa": 100}, "coding-bbb", 25)
    assert w.gateway.routes(TABLE)[2] == ("coding-bbb", "coding-lora:4", 25)


@pytest.mark.parametrize(
    ("state", "readiness"),
    [("Creating", Readiness.PROGRESSING), ("Updating", Readiness.PROGRESSING), ("Failed", Readiness.FAILED)],
)
def test_an_endpoint_that_does_not_serve_holds_the_revision(state: str, readiness: Readiness) -> None:
    w = World()
    w.endpoints.add("llama-31-8b", state=state)
    got = w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    assert (got.readiness, got.reason) == (readiness, "EndpointNotServing")
    assert got.message == f"serverless endpoint llama-31-8b is {state.lower()}"
    assert w.gateway.writes == []  # nothing is routed to an endpoint that does not serve


def test_a_missing_endpoint_or_adapter_fails_the_revision_naming_it() -> None:
    w = World()
    missing = w.backend.ensure_revision(OWNER, w.revision("coding-ccc", "9"))
    assert (missing.readiness, missing.reason) == (Readiness.FAILED, "AdapterNotFound")
    assert (
        missing.message == "adapter coding-lora:9 is not registered in registry kdap-models (model.registry)"
    )
    w.endpoints.endpoints.clear()
    gone = w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    assert (gone.readiness, gone.reason) == (Readiness.FAILED, "EndpointNotFound")
    assert w.gateway.writes == []


def test_an_adapter_routed_by_another_modeldeployment_is_left_alone() -> None:
    w = World()
    w.gateway.declare(TABLE, platform.encode_routes("team-b/coding", [("coding-zzz", "coding-lora:1", 100)]))
    with pytest.raises(BackendError) as err:
        w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    assert err.value.reason == "NotOwned"
    assert not err.value.retryable
    assert "routed by team-b/coding, not team-llm/coding" in err.value.message
    w.backend.delete_all(OWNER)  # the finalizer does not unroute someone else's adapter
    assert w.gateway.routes(TABLE)[0] == "team-b/coding"


def test_an_undeclared_adapter_says_how_to_declare_it() -> None:
    w = World()
    w.gateway.values.clear()
    with pytest.raises(BackendError) as err:
        w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    assert err.value.reason == "GatewayRouteMissing"
    assert not err.value.retryable
    assert "kdap-platform:serverless.adapters" in err.value.message


def test_a_hand_edited_table_stops_the_rollout_instead_of_guessing() -> None:
    w = World()
    w.gateway.declare(TABLE, "coding-lora:3=90,coding-lora:4=10")
    with pytest.raises(BackendError) as err:
        w.backend.observed_traffic(OWNER)
    assert err.value.reason == "GatewayRouteUnreadable"


def test_traffic_to_a_revision_never_listed_is_refused() -> None:
    w = World()
    w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    with pytest.raises(
        BackendError, match=r"revisions \['coding-bbb'\] are not in llama-31-8b-adapter-coding"
    ):
        w.backend.set_traffic(OWNER, TrafficSplit({"coding-aaa": 50, "coding-bbb": 50}))


def test_a_write_computed_from_a_stale_read_is_a_retryable_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    w = World()
    w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    stale = w.gateway.get(TABLE)
    w.backend.ensure_revision(OWNER, w.revision("coding-bbb", "4"))  # written after that read
    monkeypatch.setattr(w.gateway, "get", lambda name: stale)
    with pytest.raises(BackendError) as err:
        w.backend.set_traffic(OWNER, TrafficSplit({"coding-aaa": 100}))
    assert err.value.reason == "GatewayConflict"
    assert err.value.retryable
    monkeypatch.undo()
    assert [r for r, _, _ in w.gateway.routes(TABLE)[1]] == ["coding-aaa", "coding-bbb"]  # nothing lost


def test_deleting_revisions_and_the_finalizer() -> None:
    w = World()
    w.backend.ensure_revision(OWNER, w.revision("coding-aaa", "3"))
    w.backend.ensure_revision(OWNER, w.revision("coding-bbb", "4"))
    w.backend.set_traffic(OWNER, TrafficSplit({"coding-aaa": 100}))
    with pytest.raises(BackendError, match="still takes traffic"):
        w.backend.delete_revision(OWNER, "coding-aaa")
    w.backend.delete_revision(OWNER, "coding-bbb")
    assert [r for r, _, _ in w.gateway.routes(TABLE)[1]] == ["coding-aaa"]
    assert w.backend.revision_state(OWNER, "coding-bbb").readiness is Readiness.MISSING
    w.backend.delete_all(OWNER)
    assert w.gateway.values[TABLE][0] == platform.ADAPTER_ROUTES_UNROUTED
    with pytest.raises(BackendError, match="only through the gateway"):
        w.backend.scoring_address(OWNER, "coding-aaa")


def test_a_managed_multi_lora_endpoint_is_checked_as_an_online_endpoint() -> None:
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    class OnlineEndpoints:
        def __init__(self, state: str) -> None:
            self.state = state

        def get(self, name: str) -> ManagedOnlineEndpoint:
            # As the SDK builds it from the service's answer (provisioning_state is read-only afterwards).
            return ManagedOnlineEndpoint(name=name, auth_mode="aad_token", provisioning_state=self.state)

    w = World()
    body: dict[str, Any] = serverless_canary()
    body["target"]["serverless"]["endpointKind"] = "managed"
    target = ModelDeploymentSpec.model_validate(body).target.serverless
    assert target is not None
    for state, readiness in (("Succeeded", Readiness.READY), ("Creating", Readiness.PROGRESSING)):
        backend = ServerlessBackend(OnlineEndpoints(state), lambda r: w.registry, w.gateway, target)
        got = backend.ensure_revision(OWNER, w.revision(f"coding-{state.lower()}", "3"))
        assert got.readiness is readiness
    assert got.message == "managed endpoint llama-31-8b is creating"
