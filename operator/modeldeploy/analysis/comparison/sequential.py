"""The sequential decision: an always-valid confidence interval for the effect, looked at every interval.

Why a confidence sequence and not an alpha-spending plan: spending needs the number (or information
fractions) of looks fixed in advance, and here the looks are set by ``analysis.interval``, step durations,
manual gates and pauses, none of which is known when a step starts. A normal-mixture confidence sequence
(the mixture sequential probability ratio test of Robbins, as used for always-valid p-values by Johari et
al.) holds its coverage at every look at once, however many there are and whenever they stop, and needs
no state between looks beyond the cumulative counts since the step began (which Prometheus gives back):
nothing to keep in the status, and a restarted operator computes the same interval.

For an effect estimate with variance ``V`` (asymptotically normal), the mixture likelihood ratio against
``effect = d`` with a N(0, tau2) mixture is ``sqrt(V/(V+tau2)) * exp(tau2 (est-d)^2 / (2V(V+tau2)))``; by
Ville's inequality it crosses ``1/alpha`` under ``d`` with probability at most alpha, ever. Its acceptance
region is ``|est - d| <= half_width(V)`` below. tau2 is set so the interval is tightest when each side has
``minSamples`` (the variance then is ``V * n / minSamples``): looks before that never decide anyway.

Decision, with ``harm`` = the effect oriented so positive is worse for the candidate, and ``bound`` = margin
for non-inferiority, -margin for superiority: Pass when the interval's upper end is below the bound, Fail
when its lower end is above it, otherwise Continue. Both errors (a false pass, a false fail) are therefore
at most alpha across all looks of a step; a rollout promotes only after every analysed step passed, so the
false-promotion rate of a rollout is at most alpha too. A/B/n: with k challengers each interval is taken at
alpha/k (Bonferroni), so the chance that any challenger passes falsely stays at most alpha. Bonferroni
rather than Holm: it keeps every challenger's interval fixed and readable on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .stats import Estimate


class Hypothesis(StrEnum):
    NON_INFERIORITY = "nonInferiority"  # not worse than stable by more than the margin
    SUPERIORITY = "superiority"  # better than stable by more than the margin


class Better(StrEnum):
    LOWER = "lower"
    HIGHER = "higher"


class Decision(StrEnum):
    PASS = "Pass"
    FAIL = "Fail"
    CONTINUE = "Continue"
    INSUFFICIENT_DATA = "InsufficientData"


@dataclass(frozen=True)
class Rule:
    hypothesis: Hypothesis = Hypothesis.NON_INFERIORITY
    better: Better = Better.LOWER
    margin: float = 0.0
    alpha: float = 0.05
    min_samples: int = 1000

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.margin < 0:
            raise ValueError(f"margin must not be negative, got {self.margin}")
        if self.min_samples < 1:
            raise ValueError(f"min_samples must be at least 1, got {self.min_samples}")

    @property
    def bound(self) -> float:
        return self.margin if self.hypothesis is Hypothesis.NON_INFERIORITY else -self.margin


@dataclass(frozen=True)
class Verdict:
    """The interval is on the effect's own scale (candidate minus stable), as the status shows it."""

    estimate: Estimate
    lower: float
    upper: float
    decision: Decision
    alpha: float
    reason: str


def half_width(variance: float, alpha: float, tau2: float) -> float:
    """Half the width of the normal-mixture confidence sequence at this variance of the estimate."""
    if variance <= 0:
        return 0.0
    v = variance
    return math.sqrt(v * (v + tau2) / tau2 * math.log((v + tau2) / (v * alpha * alpha)))


def judge(estimate: Estimate, rule: Rule, comparisons: int = 1) -> Verdict:
    """One candidate against stable; ``comparisons``: how many challengers share the alpha (A/B/n)."""
    alpha = rule.alpha / comparisons
    n = min(estimate.n_candidate, estimate.n_stable)
    if n < rule.min_samples:
        reason = (
            f"{estimate.n_candidate} candidate and {estimate.n_stable} stable samples; "
            f"minSamples is {rule.min_samples} on each side"
        )
        nan = float("nan")
        return Verdict(estimate, nan, nan, Decision.INSUFFICIENT_DATA, alpha, reason)
    tau2 = estimate.variance * estimate.n_candidate / rule.min_samples
    w = half_width(estimate.variance, alpha, tau2) if tau2 > 0 else 0.0
    lower, upper = estimate.effect - w, estimate.effect + w
    sign = 1.0 if rule.better is Better.LOWER else -1.0
    harm_low, harm_high = sorted((sign * lower, sign * upper))
    worse = "above" if rule.better is Better.LOWER else "below"
    what = (
        f"not worse than stable by more than {rule.margin:g}"
        if rule.hypothesis is Hypothesis.NON_INFERIORITY
        else f"better than stable by more than {rule.margin:g}"
    )
    interval = f"[{lower:.4g}, {upper:.4g}]"
    if harm_high < rule.bound:
        return Verdict(estimate, lower, upper, Decision.PASS, alpha, f"{what}: interval {interval}")
    if harm_low > rule.bound:
        reason = f"not {what}: interval {interval} lies {worse} {sign * rule.bound:g} (alpha {alpha:g})"
        return Verdict(estimate, lower, upper, Decision.FAIL, alpha, reason)
    return Verdict(
        estimate,
        lower,
        upper,
        Decision.CONTINUE,
        alpha,
        f"undecided: interval {interval} spans {sign * rule.bound:g}",
    )


def judge_many(estimates: Mapping[str, Estimate], rule: Rule) -> dict[str, Verdict]:
    """A/B/n: each challenger against the one stable, alpha split evenly between them."""
    k = max(len(estimates), 1)
    return {name: judge(e, rule, comparisons=k) for name, e in estimates.items()}
