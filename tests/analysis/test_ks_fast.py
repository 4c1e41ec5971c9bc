"""The fast KS p-value (analysis/kolmogorov.py) against scipy's own: within 1e-10 wherever scipy's p-value
exceeds 1e-7 (measured: < 6e-12), both below 1e-7 elsewhere, so within 1e-6 everywhere; the same verdict at
every alpha of the grid; the statistic unchanged. scipy is slow exactly where the fast path pays (n ~ 1e5
near 0 and in the tail), so the expensive points are few and chosen."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from modeldeploy.analysis import numerical
from modeldeploy.analysis.kolmogorov import FAST_MIN_N, TAIL, kstwo_sf, smirnov_tail

P_TOL = 1e-6
ALPHAS = (1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.2)


def _same_verdicts(ours: float, scipys: float) -> None:
    assert abs(ours - scipys) <= P_TOL
    if scipys > TAIL:  # computed, not bounded: as close as two float evaluations of one formula get
        assert abs(ours - scipys) <= 1e-10
    else:
        assert ours <= TAIL
    assert [ours < a for a in ALPHAS] == [scipys < a for a in ALPHAS]


@pytest.mark.parametrize("n", [FAST_MIN_N, 4_000, 25_000, 100_001])
def test_kstwo_sf_matches_scipy_across_every_region(n: int) -> None:
    # z = x*sqrt(n) from Durbin's region near 0 through Pelz-Good, Smirnov's sum and the DKW bound to 0.
    z = np.array([0.05, 0.2, 0.3, 0.45, 0.7, 1.0, 1.2, 1.36, 1.48, 1.6, 1.95, 2.3, 2.9, 3.5, 5.0, 20.0])
    x = z / np.sqrt(n)
    ours, want = kstwo_sf(x, np.full(x.shape, float(n))), stats.kstwo.sf(x, n)
    for o, w in zip(ours, want, strict=True):
        _same_verdicts(float(o), float(w))


def test_kstwo_sf_at_one_hundred_thousand_where_scipy_is_slowest() -> None:
    # Durbin's matrix (n*x^1.5 <= 1.4) and the exact Smirnov sum: scipy takes ~0.1-0.4 s per value here.
    n = 100_000
    x = np.array([4.0e-4, 5.5e-4, 0.0055, 0.0075])
    ours, want = kstwo_sf(x, np.full(4, float(n))), stats.kstwo.sf(x, n)
    for o, w in zip(ours, want, strict=True):
        _same_verdicts(float(o), float(w))
    assert 0.0 < want[2] < 0.05  # the Smirnov sum region really was exercised, with a small p-value


def test_smirnov_sum_equals_scipys_smirnov() -> None:
    for n, x in [(1000, 0.05), (20_000, 0.012), (100_000, 0.006)]:
        assert smirnov_tail(n, x) == pytest.approx(special.smirnov(n, x), rel=1e-8)


def test_far_tail_reports_the_dkw_bound_which_scipys_value_never_exceeds() -> None:
    n, x = 50_000, 0.0125  # n*x^2 = 7.8: 2*exp(-15.6) = 3.4e-7 > TAIL, computed; 0.014 -> bound
    x2 = 0.0140
    p = kstwo_sf(np.array([x, x2]), np.array([n, n], dtype=float))
    assert p[0] == pytest.approx(stats.kstwo.sf(x, n), rel=1e-7)
    assert p[1] == pytest.approx(2 * np.exp(-2 * n * x2 * x2))
    assert stats.kstwo.sf(x2, n) <= p[1] < TAIL


def test_small_n_is_left_to_scipy() -> None:
    x = np.array([0.02, 0.1, 0.3, 0.6])
    n = np.array([150.0, 150.0, 999.0, 40.0])
    assert np.array_equal(kstwo_sf(x, n), stats.kstwo.sf(x, n))


def _engine_ks(ref: np.ndarray, live: np.ndarray) -> tuple[float, float]:
    width = max(ref.size, live.size)
    cols = [np.concatenate([c, np.full(width - c.size, np.nan)]) for c in (ref, live)]
    prof = numerical.profile(("f",), [cols[0]], 10, 4)
    s = numerical.compare(prof, [cols[1]])
    return float(s.ks[0]), float(s.ks_p[0])


@settings(max_examples=20, deadline=None)
@given(
    st.integers(10_001, 60_000),
    st.integers(1_000, 60_000),
    st.sampled_from([0.0, 0.005, 0.01, 0.02, 0.04]),
    st.sampled_from([None, 2, 1, 0]),  # rounding: None is continuous, 0 leaves ~7 distinct values
    st.integers(0, 2**32 - 1),
)
def test_large_samples_with_ties_match_scipy_ks_2samp(
    n1: int, n2: int, shift: float, digits: int | None, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ref, live = rng.normal(size=n1), rng.normal(shift, size=n2)
    if digits is not None:
        ref, live = np.round(ref, digits), np.round(live, digits)
    d, p = _engine_ks(ref, live)
    want = stats.ks_2samp(ref, live)
    assert d == pytest.approx(want.statistic, abs=1e-9)
    _same_verdicts(p, float(want.pvalue))


def test_equal_samples_give_p_one() -> None:
    x = np.random.default_rng(5).normal(size=30_000)
    d, p = _engine_ks(x, x.copy())
    assert (d, p) == (0.0, stats.ks_2samp(x, x).pvalue) == (0.0, 1.0)
