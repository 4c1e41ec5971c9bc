"""Hypothesis over random event sequences: the five rollout invariants, determinism and idempotence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from rollout_properties import play, scenarios
from rollout_world import World

from modeldeploy.api.status import Traffic, Verdict
from modeldeploy.rollout import Decision, Inputs, RolloutPlan, decide

EXAMPLES = 400
FAST = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_invariants_hold_over_random_event_sequences() -> None:
    seen: Counter[str] = Counter()
    runs = Counter[str]()

    @FAST
    @given(scenarios)
    def run(scenario: tuple[RolloutPlan, list[tuple[Any, ...]]]) -> None:
        plan, script = scenario
        oracle = play(plan, script)
        runs["examples"] += 1
        seen.update(oracle.seen)

    run()
    # The generated runs must reach the interesting transitions, or the invariants prove little.
    assert runs["examples"] == EXAMPLES
    for reason in ("Promoted", "FirstRevisionPromoted", "AnalysisFailed", "Superseded", "StepStarted",
                   "ProgressDeadlineExceeded", "RevisionFailed", "DriftDetected", "ManualRequest",
                   "RetrainingTriggered", "AnalysisInconclusive", "AnalysisError", "Aborted",
                   "PromotedByRequest", "ValidationPassed", "ValidationFailed",
                   "ValidationError"):  # fmt: skip
        assert seen[reason] > 0, f"no generated run reached {reason}: {dict(seen)}"
    for phase in ("Promoted", "Progressing", "Paused", "RolledBack", "Degraded", "Failed", "Pending"):
        assert seen[f"phase:{phase}"] > 0, f"no generated run reached phase {phase}"


# Broken machines: each must be caught by the same oracle, or the oracle is too weak.


def _keeps_failed_candidate(inputs: Inputs) -> Decision:
    d = decide(inputs)
    s = d.status
    if s.stable and s.failed_revisions and s.candidate is None:
        failed = s.failed_revisions[-1].name
        if failed != s.stable.name:
            traffic = Traffic(weights={s.stable.name: 90, failed: 10})
            return replace(d, status=s.model_copy(update={"traffic": traffic}))
    return d


def _weights_off_by_one(inputs: Inputs) -> Decision:
    d = decide(inputs)
    s = d.status
    if len(s.traffic.weights) == 2:
        weights = {k: v + 1 for k, v in s.traffic.weights.items()}
        return replace(d, status=s.model_copy(update={"traffic": Traffic(weights=weights)}))
    return d


def _mirrors_to_stable(inputs: Inputs) -> Decision:
    d = decide(inputs)
    s = d.status
    if s.traffic.mirror and s.stable:
        traffic = s.traffic.model_copy(update={"mirror": s.stable.name})
        return replace(d, status=s.model_copy(update={"traffic": traffic}))
    return d


def _forgets_to_make_promoted_stable(inputs: Inputs) -> Decision:
    d = decide(inputs)
    if inputs.status.stable is not None and d.status.stable != inputs.status.stable:
        return replace(d, status=d.status.model_copy(update={"stable": inputs.status.stable}))
    return d


def _routes_before_ready(inputs: Inputs) -> Decision:
    d = decide(inputs)
    s = d.status
    if s.stable and s.candidate and s.candidate.ready_at is None:
        traffic = Traffic(weights={s.stable.name: 90, s.candidate.name: 10})
        return replace(d, status=s.model_copy(update={"traffic": traffic}))
    return d


def _skips_validation(inputs: Inputs) -> Decision:
    """Treats a validation that could not run as passed (the bug a gate most plausibly has)."""
    v = inputs.validation
    if v is not None and v.verdict is not Verdict.SUCCESSFUL and v.verdict is not Verdict.FAILED:
        inputs = replace(inputs, validation=v.model_copy(update={"verdict": Verdict.SUCCESSFUL}))
        d = decide(inputs)
        c = d.status.candidate
        if c is not None and c.validation is not None:  # but records what really came back
            c = c.model_copy(update={"validation": v})
            return replace(d, status=d.status.model_copy(update={"candidate": c}))
        return d
    return decide(inputs)


_calls = Counter[str]()


def _not_deterministic(inputs: Inputs) -> Decision:
    d = decide(inputs)
    _calls["n"] += 1
    if d.status.candidate is not None and _calls["n"] % 2:
        return replace(d, status=d.status.model_copy(update={"message": "flaky"}))
    return d


def _not_idempotent(inputs: Inputs) -> Decision:
    d = decide(inputs)
    if inputs.status.candidate is not None and d.status.candidate is not None:
        n = (inputs.status.current_step_index or 0) + 1
        return replace(d, status=d.status.model_copy(update={"current_step_index": n}))
    return d


@pytest.mark.parametrize(
    ("mutant", "violation"),
    [
        (_keeps_failed_candidate, "routed to failed"),
        (_weights_off_by_one, "weights"),
        (_mirrors_to_stable, "mirror"),
        (_routes_before_ready, "before it is Ready"),
        (_skips_validation, "before it passed validation"),
        (_forgets_to_make_promoted_stable, "promotion"),
        (_not_deterministic, "deterministic"),
        (_not_idempotent, "idempotent"),
    ],
)
def test_the_oracle_catches_a_broken_machine(mutant: Callable[[Inputs], Decision], violation: str) -> None:
    @settings(
        max_examples=300,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: only whether a counterexample exists matters
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        report_multiple_bugs=False,
    )
    @given(scenarios)
    def run(scenario: tuple[RolloutPlan, list[tuple[Any, ...]]]) -> None:
        plan, script = scenario
        play(plan, script, World(plan=plan, decider=mutant))

    with pytest.raises(AssertionError, match=violation):
        run()
