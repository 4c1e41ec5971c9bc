"""Each comparison statistic against scipy's own implementation, and its bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from modeldeploy.analysis.comparison.stats import Method, mann_whitney, two_proportions, welch


@pytest.mark.parametrize(
    ("xc", "nc", "xs", "ns"), [(90, 10_000, 450, 90_000), (3, 40, 1, 60), (0, 500, 7, 900)]
)
def test_two_proportions_matches_chi_squared_and_the_z_test(xc: int, nc: int, xs: int, ns: int) -> None:
    e = two_proportions(xc, nc, xs, ns)
    table = np.array([[xc, nc - xc], [xs, ns - xs]])
    chi2, p, _, _ = sps.chi2_contingency(table, correction=False)
    assert e.statistic**2 == pytest.approx(chi2, rel=1e-9)
    assert e.p_value == pytest.approx(p, rel=1e-9)
    assert e.effect == pytest.approx(xc / nc - xs / ns)
    assert e.method is Method.PROPORTION
    assert (e.candidate, e.stable) == (xc / nc, xs / ns)


def test_two_proportions_variance_never_zero_without_errors() -> None:
    assert two_proportions(0, 1000, 0, 1000).variance > 0


def test_two_proportions_refuses_impossible_counts() -> None:
    with pytest.raises(
        ValueError, match=r"candidate: need 0 <= failures <= trials and trials > 0, got 5 of 3"
    ):
        two_proportions(5, 3, 1, 10)
    with pytest.raises(ValueError, match=r"stable: .* got 0 of 0"):
        two_proportions(1, 3, 0, 0)


def _samples(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.lognormal(0.1, 0.5, 700), rng.lognormal(0.0, 0.5, 1300)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mann_whitney_matches_scipy_on_raw_samples(seed: int) -> None:
    c, s = _samples(seed)
    e = mann_whitney((c, np.ones_like(c)), (s, np.ones_like(s)))
    ref = sps.mannwhitneyu(c, s, method="asymptotic")
    assert e.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert e.effect == pytest.approx(ref.statistic / (c.size * s.size) - 0.5)


def test_mann_whitney_on_binned_counts_equals_scipy_on_the_expanded_ties() -> None:
    """Histogram buckets: the same U and tie-corrected p-value as scipy on the repeated bucket values."""
    edges = np.array([0.05, 0.1, 0.25, 0.5, 1.0, 2.5])
    cc, cs = np.array([10, 40, 200, 300, 80, 5]), np.array([30, 120, 900, 800, 140, 10])
    e = mann_whitney((edges, cc), (edges, cs))
    ref = sps.mannwhitneyu(np.repeat(edges, cc), np.repeat(edges, cs), method="asymptotic")
    assert e.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (e.n_candidate, e.n_stable) == (cc.sum(), cs.sum())


def test_mann_whitney_delong_variance_matches_a_bootstrap() -> None:
    c, s = _samples(7)
    e = mann_whitney((c, np.ones_like(c)), (s, np.ones_like(s)))
    rng = np.random.default_rng(0)
    boots = [
        sps.mannwhitneyu(rng.choice(c, c.size), rng.choice(s, s.size)).statistic / (c.size * s.size)
        for _ in range(300)
    ]
    assert e.variance == pytest.approx(np.var(boots), rel=0.25)


def test_mann_whitney_refuses_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="candidate: 2 values but 3 counts"):
        mann_whitney(([1, 2], [1, 1, 1]), ([1], [1]))
    with pytest.raises(ValueError, match="needs samples on both sides, got 2 and 0"):
        mann_whitney(([1, 2], [1, 1]), ([1], [0]))
    with pytest.raises(ValueError, match="stable: counts must be finite and non-negative"):
        mann_whitney(([1, 2], [1, 1]), ([1], [-1]))


@pytest.mark.parametrize("seed", [4, 5])
def test_welch_matches_scipy(seed: int) -> None:
    c, s = _samples(seed)
    e = welch((c, np.ones_like(c)), (s, np.ones_like(s)))
    ref = sps.ttest_ind(c, s, equal_var=False)
    assert e.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert e.effect == pytest.approx(c.mean() - s.mean())
    assert e.variance == pytest.approx(c.var(ddof=1) / c.size + s.var(ddof=1) / s.size)


def test_welch_on_counts_equals_welch_on_repeated_values() -> None:
    values, cc, cs = np.array([0.1, 0.3, 0.7]), np.array([5, 9, 3]), np.array([8, 4, 6])
    e = welch((values, cc), (values, cs))
    ref = sps.ttest_ind(np.repeat(values, cc), np.repeat(values, cs), equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_welch_needs_two_samples_a_side() -> None:
    with pytest.raises(ValueError, match="Welch's t needs 2 samples on each side, got 1 and 3"):
        welch(([1.0], [1]), ([1.0, 2.0], [1, 2]))
