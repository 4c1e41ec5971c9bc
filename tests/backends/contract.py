"""The serving-backend contract: one suite every backend must pass.

Subclass ``BackendContract`` in a backend's test module and provide a ``harness`` fixture returning a
``BackendHarness``. The Azure ML backend runs it on the SDK fakes; the Kubernetes backend on the real control
plane. ``settle`` is the harness's way to let the world move on (finish fake Azure operations; wait for pods
on the cluster): the contract never sleeps and never asserts on time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from modeldeploy.ports import Owner, RevisionRequest, ServingBackend
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit

SETTLE_ROUNDS = 30


@dataclass
class BackendHarness:
    backend: ServingBackend
    owner: Owner
    # A request for a distinct revision per ``variant`` (0, 1, 2 ...): same owner, different model version.
    request: Callable[[int], RevisionRequest]
    settle: Callable[[], None]
    supports_mirror: bool = True


def wait_ready(h: BackendHarness, name: str) -> RevisionState:
    """Poll ``revision_state`` (settling in between) until the revision is Ready; fail fast if it fails."""
    state = h.backend.revision_state(h.owner, name)
    for _ in range(SETTLE_ROUNDS):
        if state.readiness is Readiness.READY:
            return state
        assert state.readiness is not Readiness.FAILED, f"{name} failed: {state.reason}: {state.message}"
        h.settle()
        state = h.backend.revision_state(h.owner, name)
    raise AssertionError(f"{name} did not become ready after {SETTLE_ROUNDS} settles: {state}")


def ensure_ready(h: BackendHarness, variant: int) -> str:
    request = h.request(variant)
    h.backend.ensure_revision(h.owner, request)
    wait_ready(h, request.name)
    h.backend.ensure_revision(h.owner, request)  # lets a backend finish follow-ups (autoscale, routes)
    return request.name


def live(split: TrafficSplit | None) -> dict[str, int]:
    """Live weights without zero entries (backends may or may not report idle revisions)."""
    assert split is not None, "expected a route to exist"
    return {name: weight for name, weight in split.weights.items() if weight}


class BackendContract:
    """The protocol's promises. Subclasses provide the ``harness`` fixture."""

    def test_unknown_revision_is_missing(self, harness: BackendHarness) -> None:
        state = harness.backend.revision_state(harness.owner, harness.request(0).name)
        assert state.readiness is Readiness.MISSING

    def test_ensure_reaches_ready_and_reports_replicas(self, harness: BackendHarness) -> None:
        request = harness.request(0)
        first = harness.backend.ensure_revision(harness.owner, request)
        assert first.name == request.name
        assert first.readiness in (Readiness.PROGRESSING, Readiness.READY)
        ready = wait_ready(harness, request.name)
        assert ready.desired_replicas >= 1
        assert ready.ready_replicas == ready.desired_replicas

    def test_ensure_twice_is_idempotent(self, harness: BackendHarness) -> None:
        name = ensure_ready(harness, 0)
        again = harness.backend.ensure_revision(harness.owner, harness.request(0))
        assert again.readiness is Readiness.READY
        assert harness.backend.revision_state(harness.owner, name).readiness is Readiness.READY

    def test_no_route_before_traffic_is_set(self, harness: BackendHarness) -> None:
        ensure_ready(harness, 0)
        split = harness.backend.observed_traffic(harness.owner)
        assert split is None or not live(split)

    def test_traffic_split_round_trips(self, harness: BackendHarness) -> None:
        stable, canary = ensure_ready(harness, 0), ensure_ready(harness, 1)
        harness.backend.set_traffic(harness.owner, TrafficSplit({stable: 90, canary: 10}))
        assert live(harness.backend.observed_traffic(harness.owner)) == {stable: 90, canary: 10}
        harness.backend.set_traffic(harness.owner, TrafficSplit({stable: 90, canary: 10}))  # idempotent
        harness.backend.set_traffic(harness.owner, TrafficSplit({stable: 0, canary: 100}))
        assert live(harness.backend.observed_traffic(harness.owner)) == {canary: 100}

    def test_mirror_round_trips(self, harness: BackendHarness) -> None:
        if not harness.supports_mirror:
            pytest.skip("this target cannot mirror traffic")
        stable, shadow = ensure_ready(harness, 0), ensure_ready(harness, 1)
        harness.backend.set_traffic(
            harness.owner, TrafficSplit({stable: 100}, mirror=shadow, mirror_percent=20)
        )
        split = harness.backend.observed_traffic(harness.owner)
        assert live(split) == {stable: 100}
        assert split is not None
        assert (split.mirror, split.mirror_percent) == (shadow, 20)
        harness.backend.set_traffic(harness.owner, TrafficSplit({stable: 100}))
        split = harness.backend.observed_traffic(harness.owner)
        assert split is not None
        assert split.mirror is None

    def test_delete_revision(self, harness: BackendHarness) -> None:
        stable, old = ensure_ready(harness, 0), ensure_ready(harness, 1)
        harness.backend.set_traffic(harness.owner, TrafficSplit({stable: 100}))
        harness.backend.delete_revision(harness.owner, old)
        harness.settle()
        assert harness.backend.revision_state(harness.owner, old).readiness is Readiness.MISSING
        assert harness.backend.revision_state(harness.owner, stable).readiness is Readiness.READY
        harness.backend.delete_revision(harness.owner, old)  # deleting twice is fine

    def test_delete_all(self, harness: BackendHarness) -> None:
        stable, canary = ensure_ready(harness, 0), ensure_ready(harness, 1)
        harness.backend.set_traffic(harness.owner, TrafficSplit({stable: 50, canary: 50}))
        harness.backend.delete_all(harness.owner)
        harness.settle()
        for name in (stable, canary):
            assert harness.backend.revision_state(harness.owner, name).readiness is Readiness.MISSING
        split = harness.backend.observed_traffic(harness.owner)
        assert split is None or not live(split)
        harness.backend.delete_all(harness.owner)  # the finalizer may run twice
