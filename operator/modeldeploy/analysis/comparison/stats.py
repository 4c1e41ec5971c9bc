"""Fixed-horizon two-sample statistics, candidate against stable. Pure: numbers in, numbers out.

Each test returns an ``Estimate``: the effect (candidate minus stable, on the test's own scale), the variance
of that effect (what the sequential decision in ``sequential`` needs) and the classical two-sided p-value
(what the status shows beside it). The tests are written from their definitions, not by calling scipy, so
the unit tests can hold them to scipy's own implementations.

- proportions (error rates): two-proportion z test with the pooled rate (equal to Pearson's chi-squared on
  the 2x2 table without continuity correction: chi2 = z**2). The effect's variance is Agresti-Caffo's (one
  success and one failure added to each side) so that a window with no errors yet does not claim certainty.
- continuous values given as (value, count) pairs, so Prometheus histogram buckets and raw samples are one
  input: Mann-Whitney U with the tie correction (asymptotic, with continuity correction, as scipy's
  default), effect = P(candidate > stable) + P(tie)/2 - 0.5 with DeLong's placement variance; and Welch's t
  (unequal variances, Welch-Satterthwaite degrees of freedom), effect = difference of means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import special


class Method(StrEnum):
    PROPORTION = "proportion"
    MANN_WHITNEY = "mannWhitney"
    WELCH = "welch"


@dataclass(frozen=True)
class Estimate:
    """``candidate``/``stable``: each side's own value (rate, mean, or median for Mann-Whitney)."""

    method: Method
    effect: float
    variance: float
    statistic: float
    p_value: float
    candidate: float
    stable: float
    n_candidate: int
    n_stable: int


def _two_sided_normal(z: float) -> float:
    return float(2 * special.ndtr(-abs(z)))


def two_proportions(failures_c: int, trials_c: int, failures_s: int, trials_s: int) -> Estimate:
    """Error rates: ``failures`` out of ``trials`` on each side (candidate first)."""
    for what, x, n in (("candidate", failures_c, trials_c), ("stable", failures_s, trials_s)):
        if n <= 0 or not 0 <= x <= n:
            raise ValueError(f"{what}: need 0 <= failures <= trials and trials > 0, got {x} of {n}")
    p_c, p_s = failures_c / trials_c, failures_s / trials_s
    pooled = (failures_c + failures_s) / (trials_c + trials_s)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / trials_c + 1 / trials_s))
    z = (p_c - p_s) / se0 if se0 > 0 else 0.0
    a_c, a_s = (failures_c + 1) / (trials_c + 2), (failures_s + 1) / (trials_s + 2)
    variance = a_c * (1 - a_c) / (trials_c + 2) + a_s * (1 - a_s) / (trials_s + 2)
    return Estimate(
        Method.PROPORTION, p_c - p_s, variance, z, _two_sided_normal(z), p_c, p_s, trials_c, trials_s
    )


Weighted = tuple[npt.ArrayLike, npt.ArrayLike]  # (values, counts)


def _weighted(side: Weighted, what: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    values = np.asarray(side[0], dtype=np.float64).ravel()
    counts = np.asarray(side[1], dtype=np.float64).ravel()
    if values.shape != counts.shape:
        raise ValueError(f"{what}: {values.size} values but {counts.size} counts")
    if np.any(counts < 0) or not np.all(np.isfinite(values)) or not np.all(np.isfinite(counts)):
        raise ValueError(f"{what}: counts must be finite and non-negative, values finite")
    keep = counts > 0
    return values[keep], counts[keep]


def _median(values: npt.NDArray[np.float64], counts: npt.NDArray[np.float64]) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(counts[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def mann_whitney(candidate: Weighted, stable: Weighted) -> Estimate:
    """Mann-Whitney U of candidate against stable, from (values, counts) on each side."""
    vc, cc = _weighted(candidate, "candidate")
    vs, cs = _weighted(stable, "stable")
    n_c, n_s = float(cc.sum()), float(cs.sum())
    if n_c < 1 or n_s < 1:
        raise ValueError(f"Mann-Whitney needs samples on both sides, got {n_c:g} and {n_s:g}")
    grid = np.union1d(vc, vs)
    at_c = np.zeros(grid.size)
    at_s = np.zeros(grid.size)
    np.add.at(at_c, np.searchsorted(grid, vc), cc)
    np.add.at(at_s, np.searchsorted(grid, vs), cs)
    s_below = np.cumsum(at_s) - at_s  # stable samples strictly below each grid value
    c_above = n_c - np.cumsum(at_c)  # candidate samples strictly above
    place_c = (s_below + at_s / 2) / n_s  # each candidate value's share of stable below it
    place_s = (c_above + at_c / 2) / n_c  # each stable value's share of candidate above it
    u = float(np.sum(at_c * place_c) * n_s)
    auc = u / (n_c * n_s)
    var_c = float(np.sum(at_c * (place_c - auc) ** 2) / max(n_c - 1, 1))
    var_s = float(np.sum(at_s * (place_s - auc) ** 2) / max(n_s - 1, 1))
    # DeLong's variance is 0 when the two sides do not overlap at all; the null variance below is then a
    # floor, so a handful of samples cannot look certain.
    n = n_c + n_s
    ties = at_c + at_s
    tie_term = float(np.sum(ties**3 - ties)) / (n * (n - 1)) if n > 1 else 0.0
    sigma_u = math.sqrt(max(n_c * n_s / 12 * ((n + 1) - tie_term), 0.0))
    variance = max(var_c / n_c + var_s / n_s, (sigma_u / (n_c * n_s)) ** 2)
    # As scipy's asymptotic method: |U - mean| less the continuity correction, p clipped at 1.
    excess = abs(u - n_c * n_s / 2) - 0.5
    p = 1.0 if sigma_u == 0 or excess <= 0 else _two_sided_normal(excess / sigma_u)
    return Estimate(
        Method.MANN_WHITNEY,
        auc - 0.5,
        variance,
        u,
        p,
        _median(vc, cc),
        _median(vs, cs),
        round(n_c),
        round(n_s),
    )


def _moments(values: npt.NDArray[np.float64], counts: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    n = float(counts.sum())
    mean = float(np.sum(values * counts) / n)
    var = float(np.sum(counts * (values - mean) ** 2) / (n - 1))
    return n, mean, var


def welch(candidate: Weighted, stable: Weighted) -> Estimate:
    """Welch's t of candidate against stable, from (values, counts) on each side."""
    vc, cc = _weighted(candidate, "candidate")
    vs, cs = _weighted(stable, "stable")
    if cc.sum() < 2 or cs.sum() < 2:
        raise ValueError(f"Welch's t needs 2 samples on each side, got {cc.sum():g} and {cs.sum():g}")
    n_c, m_c, v_c = _moments(vc, cc)
    n_s, m_s, v_s = _moments(vs, cs)
    a, b = v_c / n_c, v_s / n_s
    variance = a + b
    if variance == 0:
        t, p = 0.0, 1.0
    else:
        t = (m_c - m_s) / math.sqrt(variance)
        df = variance**2 / (a**2 / (n_c - 1) + b**2 / (n_s - 1))
        p = float(2 * special.stdtr(df, -abs(t)))
    return Estimate(Method.WELCH, m_c - m_s, variance, t, p, m_c, m_s, round(n_c), round(n_s))
