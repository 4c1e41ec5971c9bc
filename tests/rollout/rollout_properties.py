"""Random event sequences for the rollout machine, and the invariants every decision must keep.

``check_decision`` is the oracle. It is used by the property tests against the real machine and against
deliberately broken machines, to show each invariant can fail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st
from rollout_world import World

from modeldeploy.api.status import ManualAction, ModelDeploymentStatus, Phase, Verdict
from modeldeploy.rollout import Decision, Inputs, RolloutPlan, Step, names_to_observe
from modeldeploy.rollout.actions import EmitEvent, SetTraffic, SyncStages
from modeldeploy.rollout.plan import (
    MetricLimits,
    blue_green_steps,
    canary_steps,
    champion_challenger_steps,
    shadow_steps,
)
from modeldeploy.rollout.serving import Readiness, TrafficSplit

MODELS = ("v1", "v2", "v3")
PROMOTIONS = frozenset({"Promoted", "FirstRevisionPromoted", "PromotedByRequest"})

steps = st.one_of(
    st.builds(canary_steps, st.just((10, 25, 50)), st.sampled_from([0.0, 30.0, 120.0, None])),
    st.builds(champion_challenger_steps, st.just(10), st.sampled_from([60.0, 600.0])),
    st.builds(shadow_steps, st.sampled_from([10, 100]), st.sampled_from([60.0, None])),
    st.builds(blue_green_steps, st.sampled_from([60.0, None]), st.booleans()),
    st.just((Step(50, duration=30), Step(100, duration=60, analysis=True))),
    st.just(()),
)
plans = st.builds(
    RolloutPlan,
    steps=steps,
    analysis_interval=st.sampled_from([30.0, 60.0]),
    failure_limit=st.integers(0, 2),
    inconclusive_limit=st.integers(0, 2),
    error_limit=st.integers(0, 2),
    progress_deadline=st.sampled_from([60.0, 600.0]),
    scale_down_delay=st.sampled_from([0.0, 45.0]),
    retrain_on_drift=st.booleans(),
    monitor_interval=st.sampled_from([None, 120.0]),
    validate=st.booleans(),
    tag_stages=st.booleans(),
    validation_error_limit=st.integers(0, 2),
    # The fields #13 made honoured: every invariant must hold whatever they say.
    retrain_cooldown=st.sampled_from([0.0, 600.0]),
    drift_confirmations=st.integers(1, 3),
    rollback_on_drift=st.booleans(),
    rollback_on_metric_failure=st.booleans(),
    metric_limits=st.one_of(
        st.just(()),
        st.builds(
            lambda f, i, on: (MetricLimits("error_rate", f, i, on),),
            st.integers(0, 2),
            st.integers(0, 2),
            st.sampled_from(["pause", "fail", "ignore"]),
        ),
    ),
)
models = st.sampled_from(MODELS)
ticks = st.tuples(st.just("tick"), st.sampled_from([0, 5, 30, 30, 61, 61, 130, 700]))
tweaks = st.one_of(
    st.tuples(st.just("verdict"), models, st.sampled_from(list(Verdict))),
    st.tuples(st.sampled_from(["drift", "slow", "broken", "invalid", "unreachable"]), models, st.booleans()),
    st.tuples(st.just("request"), st.sampled_from(list(ManualAction))),
    st.tuples(st.just("crash"), st.integers(0, 3)),
)


def _verdict(v: Verdict) -> Any:
    return lambda m: [("verdict", m, v), ("drift", m, False)]


# What the next spec's revision will do, so that most episodes end somewhere interesting.
OUTCOMES: dict[str, Any] = {
    "ok": _verdict(Verdict.SUCCESSFUL),
    "fail": _verdict(Verdict.FAILED),
    "inconclusive": _verdict(Verdict.INCONCLUSIVE),
    "nodata": _verdict(Verdict.INSUFFICIENT_DATA),
    "error": _verdict(Verdict.ERROR),
    "drift": lambda m: [("drift", m, True)],
    "slow": lambda m: [("slow", m, True)],
    "broken": lambda m: [("broken", m, True)],
    "invalid": lambda m: [("invalid", m, True)],
    "unreachable": lambda m: [("unreachable", m, True)],
}

LIKELY_OUTCOMES = ["ok", "ok", "fail", "fail", "fail", *sorted(set(OUTCOMES) - {"ok", "fail"})]


@st.composite
def episode(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Tweak the world, maybe push a new spec, then let time run with the odd request or crash between."""
    script: list[tuple[Any, ...]] = draw(st.lists(tweaks, max_size=3))
    if draw(st.integers(0, 3)) > 0:
        model = draw(models)
        script += OUTCOMES[draw(st.sampled_from(LIKELY_OUTCOMES))](model)
        script.append(("model", model))
    for _ in range(draw(st.integers(3, 12))):
        script.append(draw(ticks))
        if draw(st.integers(0, 5)) == 0:
            script.append(draw(tweaks))
    return script


@st.composite
def scripts(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    first = OUTCOMES[draw(st.sampled_from(["ok"] * 8 + ["slow", "broken"]))]("v1")
    start: list[tuple[Any, ...]] = [*first, ("tick", 0), ("tick", 10)]
    return start + [e for part in draw(st.lists(episode(), min_size=1, max_size=5)) for e in part]


scenarios = st.tuples(plans, scripts())


@dataclass
class Oracle:
    """Checks every decision; remembers which revisions failed so traffic can never return to them."""

    failed: set[str] = field(default_factory=set)
    seen: Counter[str] = field(default_factory=Counter)

    def __call__(self, world: World, inputs: Inputs, decision: Decision) -> None:
        check_decision(world, inputs, decision, self)


def routed(split: TrafficSplit | Any) -> set[str]:
    live = {name for name, weight in split.weights.items() if weight > 0}
    return live | ({split.mirror} if split.mirror else set())


def check_decision(world: World, inputs: Inputs, d: Decision, oracle: Oracle) -> None:
    s = d.status
    weights, mirror = s.traffic.weights, s.traffic.mirror
    # Weights always sum to 100 (or are empty when nothing serves yet).
    assert all(v >= 0 for v in weights.values()), f"weights: negative {weights}"
    assert sum(weights.values()) in ((100,) if s.stable else (0, 100)), f"weights: sum of {weights}"
    # Mirror only to the candidate, and only while it takes no live traffic.
    if mirror is not None:
        assert s.candidate is not None, f"mirror: to {mirror} with no candidate"
        assert mirror == s.candidate.name, f"mirror: to {mirror}, not the candidate {s.candidate.name}"
        assert weights.get(mirror, 0) == 0, f"mirror: to {mirror} which has live traffic {weights}"
        assert 0 < s.traffic.mirror_percent <= 100, f"mirror: percent {s.traffic.mirror_percent}"
    # Traffic never returns to a revision that failed analysis (until a retry clears it).
    retried = s.last_handled_request_result == "retry accepted" and (
        s.last_handled_request_id != inputs.status.last_handled_request_id
    )
    if retried:
        oracle.failed.discard(inputs.desired.name)
    oracle.failed |= {f.name for f in s.failed_revisions}
    splits = [a.split for a in d.actions if isinstance(a, SetTraffic)]
    final = TrafficSplit(weights, mirror, s.traffic.mirror_percent if mirror else 0)
    for split in [*splits, final]:
        assert not routed(split) & oracle.failed, f"routed to failed {routed(split) & oracle.failed}"
    # Before a candidate is Ready it takes no traffic.
    stable_names = {r.name for r in (inputs.status.stable, s.stable) if r is not None}
    for split in [*splits, final]:
        for name in routed(split) - stable_names:
            assert inputs.readiness(name) is Readiness.READY, f"traffic to {name} before it is Ready"
    # With validation on, no revision takes traffic (live or mirrored) before it passed validation; only a
    # stable revision (promoted by the machine after validation, or by a human's request) is exempt.
    if inputs.plan.validate:
        for split in [*splits, final]:
            for name in routed(split) - stable_names:
                c = s.candidate if s.candidate is not None and s.candidate.name == name else None
                ok = c is not None and c.validation is not None and c.validation.verdict is Verdict.SUCCESSFUL
                assert ok, f"traffic to {name} before it passed validation"
    # The registry is told what the status says: production is the stable revision, staging the candidate,
    # and a failed revision is never staged or production.
    for sync in (a for a in d.actions if isinstance(a, SyncStages)):
        prod, staging = sync.desired.production, sync.desired.staging
        assert prod is None or (s.stable is not None and prod.revision == s.stable.name), f"stages: {prod}"
        assert staging is None or (s.candidate is not None and staging.revision == s.candidate.name), (
            f"stages: staging {staging}"
        )
        assert staging is None or staging.revision not in oracle.failed, f"stages: failed {staging} staged"
    # A promoted revision becomes stable and takes everything.
    reasons = [a.reason for a in d.actions if isinstance(a, EmitEvent)]
    if PROMOTIONS & set(reasons):
        assert s.stable is not None, "promotion: no stable after it"
        assert s.candidate is None, f"promotion: {s.candidate} is still a candidate"
        assert weights == {s.stable.name: 100}, f"promotion: stable {s.stable.name} has {weights}"
    if s.stable is not None and (inputs.status.stable is None or s.stable.name != inputs.status.stable.name):
        assert PROMOTIONS & set(reasons), "promotion: stable changed without one"
    if s.phase is Phase.PROMOTED:
        assert s.stable is not None, "promotion: phase Promoted with no stable"
        assert s.stable.spec_hash == inputs.desired.spec_hash, "promotion: Promoted but stable is not Git's"
    if s.phase in (Phase.ROLLED_BACK, Phase.DEGRADED, Phase.FAILED):
        assert s.is_failed(inputs.desired.spec_hash), f"phase {s.phase} but Git's revision is not failed"
    # The same inputs give the same outputs, also after the status went through the apiserver as JSON.
    assert world.decider(inputs) == d, "deterministic: same inputs, another decision"
    stored = ModelDeploymentStatus.model_validate(inputs.status.to_body())
    assert world.decider(replace(inputs, status=stored)) == d, "deterministic: not after a JSON round trip"
    # Idempotent: the decision's own status, with the world unchanged, is a fixed point.
    observed_traffic = splits[-1] if splits else inputs.observed_traffic
    again = replace(
        inputs,
        status=s,
        observed=world.observe(names_to_observe(s, inputs.desired)),
        observed_traffic=observed_traffic,
    )
    d2 = world.decider(again)
    assert not [a for a in d2.actions if isinstance(a, SetTraffic | EmitEvent)], f"idempotent: {d2.actions}"
    assert d2.status == s, "idempotent: the decision's own status is not a fixed point"
    oracle.seen.update(reasons)
    oracle.seen[f"phase:{s.phase}"] += 1


def play(plan: RolloutPlan, script: list[tuple[Any, ...]], world: World | None = None) -> Oracle:
    oracle = Oracle()
    w = world or World(plan=plan)
    w.plan, w.observer = plan, oracle
    keep: int | None = None
    for event in script:
        kind, *args = event
        if kind == "tick":
            w.tick(args[0], keep)
            keep = None
        elif kind == "model":
            w.set_model(args[0])
        elif kind == "verdict":
            w.verdicts[args[0]] = args[1]
        elif kind == "request":
            w.request(args[0])
        elif kind == "crash":
            keep = args[0]
        else:
            flags: set[str] = getattr(w, kind)
            (flags.add if args[1] else flags.discard)(args[0])
    w.tick(1)
    return oracle
