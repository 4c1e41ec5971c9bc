"""The handoff ConfigMap as the operator reads it, and the reconciler pinning where an object lives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from modeldeploy.api.handoff import Handoff
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.controller.platform_handoff import HandoffReader
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.ports import Owner, ServingBackend
from tests.api.test_handoff import PUBLISHED, spec
from tests.controller.fakes import FakeBackend, FakeEvents, FakeStore, FixedAnalysis, NoRetraining


class ConfigMaps:
    def __init__(self, doc: Any) -> None:
        self.doc, self.reads, self.fail = doc, 0, False

    def __call__(self, namespace: str, name: str) -> Any:
        self.reads += 1
        assert (namespace, name) == ("kdap-system", "kdap-platform")
        if self.fail:
            raise ApiException(status=403, reason="Forbidden")
        text = self.doc if isinstance(self.doc, str) else json.dumps(self.doc)
        return SimpleNamespace(data={"handoff.json": text})


def test_one_read_per_ttl_whatever_the_number_of_objects() -> None:
    cms, now = ConfigMaps(PUBLISHED), [0.0]
    reader = HandoffReader(cms, ttl=30.0, clock=lambda: now[0])
    for _ in range(1000):
        assert reader().top["workspace"] == "mlw-kdap-prod"
    assert cms.reads == 1
    now[0] = 31.0
    reader()
    assert cms.reads == 2


def test_an_unreadable_or_malformed_configmap_is_an_empty_handoff_that_says_why() -> None:
    cms, now = ConfigMaps(PUBLISHED), [0.0]
    reader = HandoffReader(cms, ttl=1.0, clock=lambda: now[0])
    cms.fail = True
    empty = reader()
    assert (empty.top, empty.models) == ({}, {})
    assert empty.source == "ConfigMap kdap-system/kdap-platform could not be read (403 Forbidden)"
    cms.fail, cms.doc, now[0] = False, "{not json", 2.0
    assert reader().source.startswith("ConfigMap kdap-system/kdap-platform: handoff.json is not JSON")
    cms.doc, now[0] = "[1, 2]", 4.0
    assert reader().source == "ConfigMap kdap-system/kdap-platform: handoff.json is not a JSON object"


def test_the_configmap_is_named_namespace_slash_name() -> None:
    with pytest.raises(ValueError, match="'kdap-platform': name the ConfigMap as namespace/name"):
        HandoffReader(ConfigMaps(PUBLISHED), "kdap-platform")


class World:
    def __init__(self, handoff: dict[str, Any]) -> None:
        self.backend, self.store, self.events = FakeBackend(), FakeStore(), FakeEvents()
        self.handoff = handoff
        self.seen: list[ModelDeploymentSpec] = []
        self.order: list[str] = []

        def backends(owner: Owner, spec: ModelDeploymentSpec) -> ServingBackend:
            self.seen.append(spec)
            self.order.append(f"backend with pins {sorted(self.store.status.platform_defaults or {})}")
            return self.backend

        self.reconciler = Reconciler(
            backends,
            self.store,
            self.events,
            FixedAnalysis(),
            NoRetraining(),
            clock=lambda: datetime(2026, 11, 30, tzinfo=UTC),
            handoff=lambda: Handoff.parse("ConfigMap kdap-system/kdap-platform", self.handoff),
        )

    def reconcile(self, body_spec: dict[str, Any]) -> None:
        self.reconciler.reconcile(
            {
                "metadata": {
                    "namespace": "ml-serving",
                    "name": "budget-optimizer",
                    "uid": "u-1",
                    "generation": 1,
                    "resourceVersion": str(self.store.version),
                },
                "spec": body_spec,
                "status": self.store.status.to_body(),
            }
        )


def test_the_reconciler_pins_where_the_object_lives_before_any_backend_acts() -> None:
    w = World(dict(PUBLISHED))
    w.reconcile(spec())
    assert w.order[0] == (
        "backend with pins ['endpointKind', 'endpointName', 'instanceType', 'resourceGroup', "
        "'subscriptionId', 'workspace']"
    )
    target = w.seen[0].target.azureml
    assert target is not None
    assert (target.workspace, target.endpoint_name) == ("mlw-kdap-prod", "budget-optimizer-prod")
    assert (w.store.status.platform_defaults or {}).get("workspace") == "mlw-kdap-prod"
    assert w.backend.revisions  # it went on to deploy

    # The platform moves to another workspace: this object stays where it was created.
    w.handoff = dict(PUBLISHED) | {"workspace": "mlw-kdap-prod-2"}
    w.reconcile(spec())
    last = w.seen[-1].target.azureml
    assert last is not None
    assert last.workspace == "mlw-kdap-prod"


def test_a_spec_the_platform_cannot_complete_is_invalid_and_touches_nothing() -> None:
    w = World({})
    w.reconcile(spec())
    assert w.seen == []
    valid = next(c for c in w.store.status.conditions if c.type == "SpecValid")
    assert valid.reason == "InvalidSpec"
    assert valid.message.startswith(
        "target.azureml.subscriptionId is not set and the platform does not provide"
    )
