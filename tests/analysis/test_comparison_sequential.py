"""The sequential decision: Pass, Fail, Continue and InsufficientData, the orientation, A/B/n alpha."""

from __future__ import annotations

import math

import pytest

from modeldeploy.analysis.comparison.sequential import (
    Better,
    Decision,
    Hypothesis,
    Rule,
    half_width,
    judge,
    judge_many,
)
from modeldeploy.analysis.comparison.stats import two_proportions


def test_a_candidate_slightly_worse_than_stable_fails_non_inferiority() -> None:
    v = judge(two_proportions(450, 50_000, 1_250, 250_000), Rule(margin=0.001, min_samples=1000))
    assert v.decision is Decision.FAIL, v.reason
    assert v.lower > 0.001
    assert "not worse than stable by more than 0.001" in v.reason


def test_an_equal_candidate_passes_and_a_close_one_continues() -> None:
    rule = Rule(margin=0.002, min_samples=1000)
    assert judge(two_proportions(250, 50_000, 1_250, 250_000), rule).decision is Decision.PASS
    assert judge(two_proportions(12, 2_000, 60, 10_000), rule).decision is Decision.CONTINUE


def test_too_few_samples_is_insufficient_data_never_a_pass() -> None:
    v = judge(two_proportions(0, 999, 0, 100_000), Rule(margin=0.5, min_samples=1000))
    assert v.decision is Decision.INSUFFICIENT_DATA
    assert v.reason == "999 candidate and 100000 stable samples; minSamples is 1000 on each side"
    assert math.isnan(v.lower)


def test_higher_is_better_and_superiority_flip_the_bound() -> None:
    e = two_proportions(5_500, 10_000, 5_000, 10_000)  # e.g. a conversion rate, candidate higher
    assert judge(e, Rule(better=Better.HIGHER, hypothesis=Hypothesis.SUPERIORITY)).decision is Decision.PASS
    assert judge(e, Rule(better=Better.LOWER)).decision is Decision.FAIL


def test_the_interval_widens_with_a_smaller_alpha_and_narrows_with_data() -> None:
    assert half_width(1e-6, 0.01, 1e-6) > half_width(1e-6, 0.05, 1e-6)
    assert half_width(1e-7, 0.05, 1e-6) < half_width(1e-6, 0.05, 1e-6)
    assert half_width(0.0, 0.05, 1e-6) == 0.0


def test_abn_splits_alpha_between_challengers() -> None:
    estimates = {n: two_proportions(250, 50_000, 1_250, 250_000) for n in ("b", "c", "d", "e")}
    verdicts = judge_many(estimates, Rule(alpha=0.08, margin=0.002))
    assert {v.alpha for v in verdicts.values()} == {0.02}
    single = judge(estimates["b"], Rule(alpha=0.08, margin=0.002))
    assert verdicts["b"].upper - verdicts["b"].lower > single.upper - single.lower


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha must be between 0 and 1, got 0.0"),
        ({"margin": -0.1}, "margin must not be negative, got -0.1"),
        ({"min_samples": 0}, "min_samples must be at least 1, got 0"),
    ],
)
def test_bad_rules_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rule(**kwargs)  # type: ignore[arg-type]
