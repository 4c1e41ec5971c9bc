"""Spec fields that used to be accepted and ignored (#13): each now changes what the machine decides.

metrics[].failureLimit, metrics[].inconclusiveLimit + onInconclusive, drift.confirmations, rollback.onDrift,
rollback.onMetricFailure and retrain.cooldown. Every test here failed on the machine before the change.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from rollout_world import World, desired

from modeldeploy.api.status import AnalysisResult, Counters, FeatureDrift, MetricResult, Phase, Verdict
from modeldeploy.rollout.actions import RunAnalysis
from modeldeploy.rollout.limits import Outcome, judge
from modeldeploy.rollout.plan import MetricLimits, RolloutPlan, canary_steps

V1, V2 = desired("v1").name, desired("v2").name
F, S, INC = Verdict.FAILED, Verdict.SUCCESSFUL, Verdict.INCONCLUSIVE


@dataclass
class Scripted(World):
    """The candidate's analyses follow a script: per run, the metric's verdict and whether drift is seen."""

    script: deque[tuple[Verdict, bool]] = field(default_factory=deque)

    def _analyse(self, run: RunAnalysis) -> AnalysisResult:
        if self.model_of(run.revision) != "v2" or not self.script:
            return super()._analyse(run)
        metric, drifted = self.script.popleft()
        verdict = F if metric is F or drifted else metric
        return AnalysisResult(
            revision=run.revision,
            step_index=run.step_index,
            time=self.now,
            verdict=verdict,
            message="drift: 1 of 1 evaluated features drifted" if drifted else "",
            metrics=[MetricResult(name="error-rate", value=0.5, verdict=metric, message="error-rate bad")],
            drift=[FeatureDrift(feature="amount", test="ks", verdict=F if drifted else S)],
            drift_detected=drifted,
            drift_id="d-amount" if drifted else None,
            drift_verdict=F if drifted else S,
        )


def rollout(plan: RolloutPlan, script: list[tuple[Verdict, bool]]) -> Scripted:
    w = Scripted(plan=plan, script=deque(script))
    w.tick()
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    w.set_model("v2")
    w.tick(10)
    w.tick(10)  # the candidate is Ready and takes its first step
    return w


def analyse(w: Scripted, runs: int) -> None:
    """Let ``runs`` analyses happen (one per 60 s interval) and the machine see the last one."""
    for _ in range(runs):
        w.run(60)
    w.tick()


def test_metric_failure_limit_tolerates_that_many_failed_measurements() -> None:
    plan = RolloutPlan(steps=canary_steps((10,), 6000), metric_limits=(MetricLimits("error-rate", 2),))
    w = rollout(plan, [(F, False)] * 3)
    analyse(w, 2)
    assert w.status.phase is Phase.PROGRESSING, "two failed measurements are within failureLimit 2"
    analyse(w, 1)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "failureLimit 2" in w.status.message


def test_metric_failures_are_counted_over_the_step_not_reset_by_a_success() -> None:
    plan = RolloutPlan(steps=canary_steps((10,), 6000), metric_limits=(MetricLimits("error-rate", 1),))
    w = rollout(plan, [(F, False), (S, False), (F, False)])
    analyse(w, 3)
    assert w.status.phase is Phase.ROLLED_BACK, "the second failed measurement of the step exceeds 1"


def test_a_tolerated_failure_does_not_count_as_the_steps_success() -> None:
    plan = RolloutPlan(steps=canary_steps((10,), 30), metric_limits=(MetricLimits("error-rate", 5),))
    w = rollout(plan, [(F, False)] * 4)
    analyse(w, 4)
    assert w.status.phase is Phase.PROGRESSING
    assert w.status.current_step_index == 0, "a failed measurement never promotes"


def test_on_inconclusive_fail_fails_past_the_inconclusive_limit() -> None:
    limits = MetricLimits("error-rate", inconclusive_limit=1, on_inconclusive="fail")
    w = rollout(RolloutPlan(steps=canary_steps((10,), 6000), metric_limits=(limits,)), [(INC, False)] * 2)
    analyse(w, 1)
    assert w.status.phase is Phase.PROGRESSING
    analyse(w, 1)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "inconclusiveLimit 1" in w.status.message


def test_on_inconclusive_pause_waits_for_a_human() -> None:
    limits = MetricLimits("error-rate", inconclusive_limit=0, on_inconclusive="pause")
    w = rollout(RolloutPlan(steps=canary_steps((10,), 6000), metric_limits=(limits,)), [(INC, False)])
    analyse(w, 1)
    assert w.status.phase is Phase.PAUSED
    assert w.weights() == {V1: 90, V2: 10}


def test_on_inconclusive_ignore_lets_the_step_end() -> None:
    limits = MetricLimits("error-rate", inconclusive_limit=1, on_inconclusive="ignore")
    w = rollout(RolloutPlan(steps=canary_steps((10,), 30), metric_limits=(limits,)), [(INC, False)] * 10)
    analyse(w, 1)
    assert w.status.phase is Phase.PROGRESSING, "within the limit the metric still holds the step"
    analyse(w, 2)
    assert w.status.phase is Phase.PROMOTED


def test_drift_confirmations_need_that_many_drifted_analyses_in_a_row() -> None:
    plan = RolloutPlan(steps=canary_steps((10,), 6000), drift_confirmations=3)
    w = rollout(plan, [(S, True), (S, True), (S, False), (S, True), (S, True), (S, True)])
    analyse(w, 5)
    assert w.status.phase is Phase.PROGRESSING, "a clean analysis breaks the streak"
    analyse(w, 1)
    assert w.status.phase is Phase.ROLLED_BACK
    assert "data drift" in w.status.message


def test_on_drift_false_holds_the_candidate_and_still_retrains() -> None:
    plan = RolloutPlan(steps=canary_steps((10,), 6000), rollback_on_drift=False, retrain_on_drift=True)
    w = rollout(plan, [(S, True)] * 3)
    analyse(w, 3)
    assert w.status.phase is Phase.PAUSED, "not rolled back"
    assert w.weights() == {V1: 90, V2: 10}
    assert [r.drift_id for r in w.retrained] == ["d-amount"]
    held = [e for e in w.events if e.reason == "DriftDetected"]
    assert len(held) == 1
    assert "rollback.onDrift is false" in held[0].message


def test_on_metric_failure_false_holds_the_candidate() -> None:
    plan = RolloutPlan(steps=canary_steps((10,), 6000), rollback_on_metric_failure=False)
    w = rollout(plan, [(F, False)] * 2)
    analyse(w, 2)
    assert w.status.phase is Phase.PAUSED
    assert not w.status.failed_revisions
    assert any("rollback.onMetricFailure is false" in e.message for e in w.events)


def test_retrain_cooldown_suppresses_a_second_trigger_until_it_passes() -> None:
    plan = RolloutPlan(monitor_interval=300, retrain_on_drift=True, retrain_cooldown=3600)
    w = World(plan=plan)
    w.tick()
    w.tick(10)
    w.drift.add("v1")
    w.run(400)
    assert len(w.retrained) == 1
    w.drift.clear()
    w.run(600)
    w.model = "v1"  # the same revision drifts again on other features: a new drift id
    w.drift.add("v1")
    original = w._analyse

    def other_features(run: RunAnalysis) -> AnalysisResult:
        return original(run).model_copy(update={"drift_id": "drift-v1-again"})

    w._analyse = other_features  # type: ignore[method-assign]
    w.run(1200)
    assert len(w.retrained) == 1, "inside the 1h cooldown"
    w.run(1800)
    assert [r.drift_id for r in w.retrained] == ["drift-v1", "drift-v1-again"]


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(0, 4),
    verdicts=st.lists(st.sampled_from([F, S, INC]), min_size=1, max_size=12),
)
def test_a_metric_fails_exactly_when_its_failures_exceed_the_limit(
    limit: int, verdicts: list[Verdict]
) -> None:
    """Property: whatever the order of measurements, the run fails at the (limit+1)-th failure, not before."""
    plan = RolloutPlan(metric_limits=(MetricLimits("m", limit, inconclusive_limit=99),))
    c = Counters()
    failures = 0
    for v in verdicts:
        result = AnalysisResult(
            revision="r", verdict=v, metrics=[MetricResult(name="m", verdict=v)], drift_verdict=None
        )
        j = judge(result, c, plan)
        c = j.counters
        failures += v is F
        if failures > limit:
            assert j.outcome is Outcome.FAILED
            return
        assert j.outcome is not Outcome.FAILED
        assert (j.outcome is Outcome.PASSED) == (v is S)
