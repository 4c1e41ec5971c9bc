"""The gate in the controller: a refused object gets SpecValid=False and an Event and nothing else (no
backend, analysis or retraining call); the watch-fed caches say which namespaces a change affects; a
change re-enqueues exactly their objects; ``--policy off`` refuses nothing."""

from __future__ import annotations

from typing import Any

import pytest

from modeldeploy.api.status import ConditionStatus
from modeldeploy.controller.bodies import BodyCache
from modeldeploy.controller.handover import Handover
from modeldeploy.controller.main import build_parser
from modeldeploy.controller.policies import PolicyGate
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.controller.workers import Controller
from modeldeploy.ports import Owner, ServingBackend
from modeldeploy.rollout.actions import EventType
from tests.backends.kubernetes.specs import kubernetes_spec
from tests.controller.fakes import FakeBackend, FakeEvents, FakeStore, FixedAnalysis, NoRetraining

DRIFT = {
    "interval": "1s",
    "prometheusAddress": "http://prometheus.monitoring:9090",
    "metrics": [{"name": "err", "provider": "prometheus", "builtin": "errorRate", "max": 0.1}],
}


def _policy_body(name: str, team: str, **grants: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"namespaceSelector": {"matchLabels": {"team": team}}, **grants},
    }


def _ns(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}}


class World:
    def __init__(self, gate: PolicyGate) -> None:
        self.gate, self.store, self.events = gate, FakeStore(), FakeEvents()
        self.backend, self.analysis, self.backend_calls = FakeBackend(), FixedAnalysis(), 0

        def backends(owner: Owner, spec: Any) -> ServingBackend:
            self.backend_calls += 1
            return self.backend

        self.reconciler = Reconciler(
            backends, self.store, self.events, self.analysis, NoRetraining(), policy=gate
        )

    def reconcile(self, namespace: str = "team-a") -> Any:
        spec = kubernetes_spec(
            strategy={
                "type": "canary",
                "canary": {"steps": [{"weight": 50, "analysis": True}, {"weight": 100}]},
            },
            analysis=DRIFT,
        )
        body = {
            "metadata": {"namespace": namespace, "name": "budget", "uid": "u-1", "generation": 1,
                         "resourceVersion": str(self.store.version)},
            "spec": spec.to_manifest(),
            "status": self.store.status.to_body(),
        }  # fmt: skip
        return self.reconciler.reconcile(body)


def _spec_valid(world: World) -> Any:
    return next(c for c in world.store.status.conditions if c.type == "SpecValid")


def test_a_refused_object_gets_the_condition_and_an_event_and_no_io() -> None:
    gate = PolicyGate("enforce")
    gate.observe_namespace("ADDED", _ns("team-a", team="a"))
    world = World(gate)
    out = world.reconcile()
    cond = _spec_valid(world)
    assert cond.status == ConditionStatus.FALSE
    assert cond.reason == "PolicyDenied"
    assert cond.message == (
        'spec.analysis.prometheusAddress: Prometheus endpoint "http://prometheus.monitoring:9090" is not '
        'granted to namespace "team-a" by any ModelDeploymentPolicy (granted: none)'
    )
    assert world.events.events == [(EventType.WARNING, "PolicyDenied", cond.message)]
    assert world.backend_calls == 0
    assert world.backend.calls == []
    assert world.analysis.runs == []
    assert out.requeue_after is None  # a policy change brings it back, not a timer
    # the same verdict again writes and emits nothing
    writes = world.store.writes
    world.reconcile()
    assert world.store.writes == writes
    assert len(world.events.events) == 1


def test_granting_lets_it_roll_out_and_revoking_stops_it_again() -> None:
    gate = PolicyGate("enforce")
    gate.observe_namespace("ADDED", _ns("team-a", team="a"))
    world = World(gate)
    world.reconcile()
    grant = _policy_body("a", "a", metrics={"prometheus": ["http://prometheus.monitoring:9090"]})
    assert gate.observe_policy("ADDED", grant) == {"team-a"}
    world.reconcile()
    assert _spec_valid(world).status == ConditionStatus.TRUE
    assert world.backend_calls == 1
    assert world.backend.calls  # it acted
    acted = len(world.backend.calls)
    assert gate.observe_policy("DELETED", grant) == {"team-a"}
    world.reconcile()
    assert _spec_valid(world).status == ConditionStatus.FALSE
    assert len(world.backend.calls) == acted  # no new I/O after the revocation
    assert world.backend_calls == 1


def test_off_refuses_nothing() -> None:
    world = World(PolicyGate("off"))
    world.reconcile()
    assert _spec_valid(world).status == ConditionStatus.TRUE
    assert world.backend_calls == 1


def test_the_production_default_is_enforce() -> None:
    assert build_parser().parse_args([]).policy == "enforce"
    assert build_parser().parse_args(["--policy", "off"]).policy == "off"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--policy", "audit"])


def test_changes_name_the_namespaces_they_affect() -> None:
    gate = PolicyGate()
    for ns in (_ns("a1", team="a"), _ns("a2", team="a"), _ns("b1", team="b")):
        assert gate.observe_namespace("ADDED", ns) is True
    assert gate.observe_namespace("MODIFIED", _ns("a1", team="a")) is False  # labels unchanged
    assert gate.observe_policy("ADDED", _policy_body("p", "a")) == {"a1", "a2"}
    # re-targeting a policy affects the namespaces it left and the ones it joined
    assert gate.observe_policy("MODIFIED", _policy_body("p", "b")) == {"a1", "a2", "b1"}
    assert gate.observe_namespace("MODIFIED", _ns("a1", team="b")) is True
    assert gate.observe_policy("DELETED", _policy_body("p", "b")) == {"a1", "b1"}
    assert gate.sizes() == (0, 3)
    assert gate.observe_namespace("DELETED", _ns("a1")) is True
    assert gate.sizes() == (0, 2)


def test_an_invalid_policy_grants_nothing() -> None:
    gate = PolicyGate()
    gate.observe_namespace("ADDED", _ns("team-a", team="a"))
    bad = _policy_body("bad", "a", metrics={"prometheus": ["http://user@prometheus.monitoring:9090"]})
    gate.observe_policy("ADDED", bad)
    assert gate.sizes() == (0, 1)
    world = World(gate)
    world.reconcile()
    assert _spec_valid(world).reason == "PolicyDenied"


def test_an_unseen_namespace_still_matches_by_its_name_label() -> None:
    gate = PolicyGate()
    gate.observe_policy(
        "ADDED",
        {
            "metadata": {"name": "p"},
            "spec": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "fresh"}},
                "metrics": {"prometheus": ["http://prometheus.monitoring:9090"]},
            },
        },
    )
    world = World(gate)
    world.reconcile("fresh")
    assert _spec_valid(world).status == ConditionStatus.TRUE


class _NoFinalizers:
    name = "x"


def test_wake_namespaces_enqueues_exactly_their_objects() -> None:
    ctl = Controller(reconciler=None, finalizers=_NoFinalizers(), handover=Handover(0.0))  # type: ignore[arg-type]
    bodies: BodyCache = ctl.bodies
    for ns, name in (("a1", "x"), ("a1", "y"), ("b1", "z")):
        bodies.put({"metadata": {"namespace": ns, "name": name, "resourceVersion": "1"}})
    assert ctl.wake_namespaces({"a1"}) == 2
    assert ctl.wake_namespaces(set()) == 0
    got = {ctl.queue.get(timeout=0.1), ctl.queue.get(timeout=0.1)}
    assert got == {("a1", "x"), ("a1", "y")}
    assert ctl.queue.get(timeout=0.05) is None


def test_deleting_an_object_whose_workspace_is_revoked_touches_no_azure() -> None:
    from tests.security.policy_cases import FULL

    world = World(PolicyGate("enforce"))
    body = {"metadata": {"namespace": "team-a", "name": "budget", "uid": "u-1"}, "spec": FULL}
    world.reconciler.finalize(body)
    assert world.backend_calls == 0
    ((kind, reason, message),) = world.events.events
    assert (kind, reason) == (EventType.WARNING, "CleanupSkipped")
    assert message.startswith("spec.target.azureml: Azure ML workspace ")
    assert message.endswith("; Azure resources were left as they are")
    # granted again: the cleanup runs
    from tests.security.policy_cases import GRANT

    world.gate.observe_namespace("ADDED", _ns("team-a", **{"kdap.io/team": "a"}))
    world.gate.observe_policy("ADDED", {"metadata": {"name": "g"}, "spec": GRANT})
    world.reconciler.finalize(body)
    assert world.backend_calls == 1


def test_a_relist_drops_what_a_restarting_watch_never_reported_deleted() -> None:
    gate = PolicyGate()
    namespaces = [_ns("a1", team="a"), _ns("b1", team="b")]
    grant = _policy_body("p", "a", metrics={"prometheus": ["http://prometheus.monitoring:9090"]})
    assert gate.replace([grant], namespaces) == {"a1"}
    assert gate.replace([grant], namespaces) == set()  # nothing changed: nothing to re-check
    world = World(gate)
    world.reconcile("a1")
    assert _spec_valid(world).status == ConditionStatus.TRUE
    # the policy was deleted while the watch was down: the re-list no longer has it
    assert gate.replace([], namespaces) == {"a1"}
    assert gate.sizes() == (0, 2)
    world.reconcile("a1")
    assert _spec_valid(world).reason == "PolicyDenied"
