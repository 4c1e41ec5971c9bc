"""Scenario (#18): a candidate erring on 0.9 % of requests against stable's 0.5 % stays under a "max 1 %"
threshold, so thresholds alone promote it; the comparison with stable rolls it back. Spec to plan
(controller.translate), analysis engine (AnalysisService with a Prometheus stand-in counting requests of a
90/10 split) and the pure machine, run together on the fake world."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rollout_world import World, desired

from modeldeploy.analysis.service import AnalysisService
from modeldeploy.analysis.types import MetricValue
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult, Comparison, Counters, MetricResult, Phase, Verdict
from modeldeploy.controller.translate import plan_of
from modeldeploy.ports import Owner
from modeldeploy.rollout.actions import RunAnalysis
from modeldeploy.rollout.limits import Outcome, judge
from modeldeploy.rollout.plan import MetricLimits, RolloutPlan
from tests.api.mdep_cases import kubernetes_canary

V1, V2 = desired("v1").name, desired("v2").name
OWNER = Owner("ml", "fraud", "uid-18")
RATES = {V1: (0.005, 900.0), V2: (0.009, 100.0)}  # error rate, requests per second


class Counting:
    """Answers the error rate and the request and error counts of each revision over the window."""

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        rate, rps = RATES[params["revision"]]
        seconds = (end - start).total_seconds()
        return MetricValue(
            {"errorRate": rate, "requestCount": rps * seconds, "errorCount": rate * rps * seconds}[query]
        )


def _spec(compare: dict[str, Any] | None) -> ModelDeploymentSpec:
    manifest = kubernetes_canary()
    metric: dict[str, Any] = {
        "name": "error-rate",
        "provider": "prometheus",
        "builtin": "errorRate",
        "max": 0.01,
    }
    if compare is not None:
        metric["compare"] = compare
    manifest["analysis"] = {"interval": "1m", "metrics": [metric]}
    return ModelDeploymentSpec.model_validate(manifest)


@dataclass
class Judged(World):
    spec: ModelDeploymentSpec | None = None

    def _analyse(self, run: RunAnalysis) -> AnalysisResult:
        assert self.spec is not None
        service = AnalysisService(providers_for=lambda _: {"prometheus": Counting()})
        return service.run(OWNER, self.spec, run, self.now)


def roll_out(compare: dict[str, Any] | None) -> Judged:
    spec = _spec(compare)
    w = Judged(plan=plan_of(spec), spec=spec)
    w.tick()
    w.tick(10)
    assert w.status.phase is Phase.PROMOTED
    w.set_model("v2")
    w.run(15 * 60)
    return w


def test_thresholds_alone_promote_the_slightly_worse_candidate() -> None:
    w = roll_out(None)
    assert w.status.phase is Phase.PROMOTED
    assert w.stable() == V2


def test_the_comparison_with_stable_rolls_it_back() -> None:
    w = roll_out({"margin": 0.001, "alpha": 0.05, "minSamples": 1000})
    assert w.status.phase is Phase.ROLLED_BACK, w.status.message
    assert w.stable() == V1
    assert all(dict(s.weights).get(V2, 0) <= 10 for s in w.applied), "the candidate never got past 10 %"
    last = w.status.last_analysis
    assert last is not None
    metric = last.metrics[0]
    assert metric.value == 0.009, "the threshold itself passed"
    c = metric.comparison
    assert c is not None
    assert (c.test, c.decision, c.stable, c.candidate) == ("proportion", "Fail", 0.005, 0.009)
    assert c.lower is not None
    assert c.upper is not None
    assert 0.001 < c.lower < 0.004 < c.upper
    assert "not worse than stable by more than 0.001" in (w.status.message or "")


def _result(decision: str, verdict: Verdict) -> AnalysisResult:
    comparison = Comparison(test="proportion", decision=decision)
    metric = MetricResult(name="error-rate", verdict=verdict, message="m", comparison=comparison)
    return AnalysisResult(revision=V2, step_index=0, verdict=verdict, metrics=[metric])


def test_an_undecided_comparison_holds_the_step_without_counting_as_inconclusive() -> None:
    plan = RolloutPlan(metric_limits=(MetricLimits("error-rate"),))
    j = judge(_result("Continue", Verdict.INCONCLUSIVE), Counters(), plan)
    assert j.outcome is Outcome.WAIT
    assert j.counters.metrics == []


def test_insufficient_data_counts_toward_inconclusive_limit_and_pauses() -> None:
    plan = RolloutPlan(metric_limits=(MetricLimits("error-rate"),))
    j = judge(_result("InsufficientData", Verdict.INSUFFICIENT_DATA), Counters(), plan)
    assert j.outcome is Outcome.PAUSE
    assert j.counters.metrics[0].inconclusives == 1
