"""The promoted version in API Management's named value (controller/edge.py), on fakes built from
azure-mgmt-apimanagement's own entity types, through the reconciler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.apimanagement.models import NamedValueContract, NamedValueCreateContract

from modeldeploy.api.handoff import Handoff
from modeldeploy.controller.edge import EdgeVersions
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.ports import Owner, ServingBackend
from tests.api.test_handoff import PUBLISHED, spec
from tests.controller.fakes import FakeBackend, FakeEvents, FakeStore, FixedAnalysis, NoRetraining

T0 = datetime(2026, 11, 30, tzinfo=UTC)
WHERE = ("rg-kdap-prod", "apim-kdap-prod-x1", "budget-optimizer-model-version")


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self, timeout: float | None = None) -> Any:
        return self.value


class FakeNamedValues:
    """NamedValueOperations over a dict, answering with the SDK's contracts."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})
        self.writes: list[tuple[str, str, str, NamedValueCreateContract]] = []
        self.fail: Exception | None = None

    def get(self, resource_group_name: str, service_name: str, named_value_id: str) -> NamedValueContract:
        if named_value_id not in self.values:
            raise ResourceNotFoundError("NamedValue not found")
        return NamedValueContract(
            display_name=named_value_id, value=self.values[named_value_id], secret=False
        )

    def begin_create_or_update(
        self, resource_group_name: str, service_name: str, named_value_id: str, parameters: Any
    ) -> _Done:
        if self.fail is not None:
            raise self.fail
        self.writes.append((resource_group_name, service_name, named_value_id, parameters))
        self.values[named_value_id] = parameters.value
        return _Done(NamedValueContract(display_name=named_value_id, value=parameters.value))


class World:
    def __init__(self, apim: FakeNamedValues) -> None:
        self.store, self.events, self.now = FakeStore(), FakeEvents(), T0
        self.subscriptions: list[str] = []

        def clients(subscription: str) -> FakeNamedValues:
            self.subscriptions.append(subscription)
            return apim

        backend = FakeBackend()

        def backends(owner: Owner, s: Any) -> ServingBackend:
            return backend

        self.reconciler = Reconciler(
            backends, self.store, self.events, FixedAnalysis(), NoRetraining(), clock=lambda: self.now,
            handoff=lambda: Handoff.parse("ConfigMap kdap-system/kdap-platform", PUBLISHED),
            edge=EdgeVersions(clients),
        )  # fmt: skip

    def settle(self, body_spec: dict[str, Any], rounds: int = 12) -> float | None:
        requeue = None
        for _ in range(rounds):
            meta = {"namespace": "ml-serving", "name": "budget-optimizer", "uid": "u-1", "generation": 1,
                    "resourceVersion": str(self.store.version)}  # fmt: skip
            out = self.reconciler.reconcile(
                {"metadata": meta, "spec": body_spec, "status": self.store.status.to_body()}
            )
            requeue = out.requeue_after
            self.now += timedelta(seconds=requeue or 1)
        return requeue


def test_the_promoted_version_reaches_the_named_value_once() -> None:
    apim = FakeNamedValues({"budget-optimizer-model-version": "unknown"})
    w = World(apim)
    w.settle(spec())
    assert w.store.status.stable is not None
    assert apim.values["budget-optimizer-model-version"] == "1.0.0"
    assert [(rg, svc, nv, c.value, c.secret) for rg, svc, nv, c in apim.writes] == [(*WHERE, "1.0.0", False)]
    assert w.store.status.edge_version == "1.0.0"
    assert ("Normal", "EdgeVersionSet") in {(t.value, r) for t, r, _ in w.events.events}
    assert w.subscriptions == ["00000000-0000-4000-8000-000000000001"]  # the target's, from the platform pins
    # A new version promoted: written again; nothing in between.
    w.settle(spec() | {"model": spec()["model"] | {"version": "1.1.0"}})
    assert [c.value for *_, c in apim.writes] == ["1.0.0", "1.1.0"]


def test_a_named_value_already_right_is_not_written_and_a_failure_retries_without_holding_the_rollout() -> (
    None
):
    apim = FakeNamedValues({"budget-optimizer-model-version": "1.0.0"})
    w = World(apim)
    w.settle(spec())
    assert apim.writes == []  # read before write
    assert w.store.status.edge_version == "1.0.0"

    broken = FakeNamedValues()
    broken.fail = HttpResponseError("AuthorizationFailed: no write on the API Management service")
    w2 = World(broken)
    requeue = w2.settle(spec())
    assert w2.store.status.stable is not None  # promoted all the same
    assert w2.store.status.edge_version is None
    assert requeue is not None
    assert requeue <= 30.0
    failed = [m for t, r, m in w2.events.events if r == "EdgeVersionFailed"]
    assert failed
    assert failed[0].startswith(
        "API Management named value budget-optimizer-model-version (service apim-kdap-prod-x1) not set to "
        "1.0.0: AuthorizationFailed"
    )
