"""Every statistic the engine computes equals scipy's reference function on the same data (to 1e-9)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from modeldeploy.analysis import categorical, numerical
from modeldeploy.analysis.ks import EXACT_MAX_N, ks_pvalues

TOL = 1e-9


def _padded(columns: list[np.ndarray]) -> list[np.ndarray]:
    width = max(c.size for c in columns)
    return [np.concatenate([numerical.as_float(c), np.full(width - c.size, np.nan)]) for c in columns]


def _engine(ref: list[np.ndarray], live: list[np.ndarray], block: int = 2) -> numerical.NumericalStats:
    prof = numerical.profile(tuple(f"f{i}" for i in range(len(ref))), _padded(ref), 10, block)
    return numerical.compare(prof, _padded(live))


@pytest.mark.parametrize(
    ("n1", "n2", "shift"),
    [
        (50, 50, 0.3),
        (30, 70, 0.2),
        (997, 1500, 0.1),
        (3000, 5000, 0.03),
        (10_000, 10_000, 0.2),
        (12_000, 8_000, 0.02),
    ],
)
def test_ks_equals_scipy_default_method(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    ref = [rng.normal(size=n1), np.round(rng.normal(size=n1), 1)]  # the second has many ties
    live = [rng.normal(shift, size=n2), np.round(rng.normal(shift, size=n2), 1)]
    s = _engine(ref, live)
    for i in range(2):
        want = stats.ks_2samp(ref[i], live[i])
        assert s.ks[i] == pytest.approx(want.statistic, abs=TOL)
        assert s.ks_p[i] == pytest.approx(want.pvalue, abs=TOL)


def test_ks_uses_asymptotic_p_above_scipys_exact_limit() -> None:
    # Same statistic, sizes either side of 10,000: scipy switches to kstwo.sf there, so must we.
    d = np.array([0.02, 0.02])
    n = np.array([EXACT_MAX_N, EXACT_MAX_N + 1])
    _, p = ks_pvalues(d, n, n)
    en = np.round((EXACT_MAX_N + 1) / 2)
    assert p[1] == pytest.approx(stats.kstwo.sf(0.02, en), abs=TOL)
    assert p[0] != pytest.approx(p[1], abs=1e-6)


def test_missing_values_are_dropped_like_scipy_on_the_clean_data() -> None:
    rng = np.random.default_rng(3)
    ref, live = rng.exponential(size=4000), rng.exponential(1.1, size=3000)
    ref[:100], live[:7], live[10] = np.nan, np.inf, -np.inf
    s = _engine([ref], [live])
    r, lv = ref[np.isfinite(ref)], live[np.isfinite(live)]
    assert s.valid[0] == lv.size
    assert s.ks_p[0] == pytest.approx(stats.ks_2samp(r, lv).pvalue, abs=TOL)
    assert s.wasserstein[0] == pytest.approx(stats.wasserstein_distance(r, lv), abs=TOL)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-20, 20), min_size=1, max_size=60),
    st.lists(st.integers(-20, 20), min_size=1, max_size=60),
    st.sampled_from([0.5, 1.0, 3.0]),
)
def test_ks_and_wasserstein_equal_scipy_on_arbitrary_small_samples(
    a: list[int], b: list[int], scale: float
) -> None:
    ref, live = np.array(a, dtype=float) * scale, np.array(b, dtype=float)
    s = _engine([ref, live], [live, ref], block=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        want = stats.ks_2samp(ref, live)
    assert s.ks[0] == pytest.approx(want.statistic, abs=TOL)
    assert s.ks_p[0] == pytest.approx(s.ks_p[1], abs=TOL)  # symmetric
    if caught:
        # scipy's exact recursion overflows past 1 for equal sizes and D <= 2/n and falls back to the
        # asymptotic formula; ours stays exact there. Both are ~1: no drift either way.
        assert "Exact calculation unsuccessful" in str(caught[0].message)
        assert want.pvalue > 0.99
        assert s.ks_p[0] > 0.99
    else:
        assert s.ks_p[0] == pytest.approx(want.pvalue, abs=TOL)
    assert s.wasserstein[0] == pytest.approx(stats.wasserstein_distance(ref, live), abs=TOL)


def test_wasserstein_normalised_by_reference_std_with_a_floor() -> None:
    rng = np.random.default_rng(4)
    ref, live = rng.normal(0, 2, 5000), rng.normal(0.4, 2, 5000)
    s = _engine([ref, np.full(500, 3.0)], [live, np.full(500, 3.5)])
    assert s.wasserstein_norm[0] == pytest.approx(
        stats.wasserstein_distance(ref, live) / np.std(ref), abs=TOL
    )
    assert s.wasserstein_norm[1] == pytest.approx(0.5 / numerical.STD_FLOOR, abs=TOL)


def test_binned_js_and_psi_match_their_definitions_on_reference_quantile_bins() -> None:
    rng = np.random.default_rng(5)
    ref, live = rng.normal(size=20_000), rng.normal(0.3, 1.2, size=15_000)
    s = _engine([ref], [live])
    edges = np.quantile(ref, np.arange(1, 10) / 10)
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    # np.histogram's bins are half-open on the right; ours are (e_i, e_i+1]: mirror the data to compare.
    r = np.histogram(-ref, -bins[::-1])[0][::-1].astype(float)
    lv = np.histogram(-live, -bins[::-1])[0][::-1].astype(float)
    assert s.jensen_shannon[0] == pytest.approx(distance.jensenshannon(r, lv, base=2), abs=TOL)
    pr, pl = r / r.sum(), lv / lv.sum()
    assert s.psi[0] == pytest.approx(float(((pl - pr) * np.log(pl / pr)).sum()), abs=TOL)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_chi_squared_equals_chi2_contingency(k: int) -> None:
    rng = np.random.default_rng(k)
    cats = [f"c{i}" for i in range(k)]
    ref = rng.choice(cats, size=800)
    live = rng.choice(cats, size=600, p=np.linspace(1, 2, k) / np.linspace(1, 2, k).sum())
    s = categorical.compare(categorical.count(ref), categorical.count(live))
    table = np.array([[np.sum(ref == c) for c in cats], [np.sum(live == c) for c in cats]])
    want = stats.chi2_contingency(table)  # Yates's correction applies at k == 2, as in ours
    assert s.chi2 == pytest.approx(want.statistic, abs=TOL)
    assert s.chi2_p == pytest.approx(want.pvalue, abs=TOL)
    assert s.jensen_shannon == pytest.approx(distance.jensenshannon(table[0], table[1], base=2), abs=TOL)


def test_unseen_categories_enter_the_table_with_zero_reference_count() -> None:
    ref = np.array(["a"] * 300 + ["b"] * 200, dtype=object)
    live = np.array(["a"] * 250 + ["b"] * 150 + ["new"] * 100 + [None] * 20, dtype=object)
    s = categorical.compare(categorical.count(ref), categorical.count(live))
    want = stats.chi2_contingency([[300, 200, 0], [250, 150, 100]])
    assert s.chi2_p == pytest.approx(want.pvalue, abs=TOL)
    assert s.unseen == ("new",)
    assert s.unseen_share == pytest.approx(100 / 500)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_the_wasserstein_normaliser_survives_huge_and_tiny_magnitudes(scale: float) -> None:
    """At |x| ~ 1e300 the squares in the standard deviation overflow (std inf: the normalised distance was
    0 however far the live data moved, a drift never seen); at ~1e-300 they underflow (std 0: a varying
    column was reported constant). The data at unit scale is the oracle."""
    rng = np.random.default_rng(6)
    ref, live = rng.normal(size=3000), rng.normal(0.5, size=2000)
    s = _engine([ref * scale], [live * scale])
    assert s.wasserstein[0] == pytest.approx(stats.wasserstein_distance(ref, live) * scale, rel=1e-9, abs=0)
    prof = numerical.profile(("f",), [ref * scale], 10, 1)
    assert prof.std[0] == pytest.approx(np.std(ref) * scale, rel=1e-9, abs=0)
    if scale > 1:  # below the floor of the normaliser (1e-3) a distance of 1e-300 stays no drift, by design
        assert s.wasserstein_norm[0] == pytest.approx(stats.wasserstein_distance(ref, live) / np.std(ref))


def test_unseen_categories_are_named_most_frequent_first_whatever_order_they_were_counted_in() -> None:
    """Arrow counts in order of first appearance, the Spark job in its group-by's order: the same live
    window named different 'unseen' categories (the first five) depending on the engine."""
    ref = categorical.CategoryCounts({"a": 500}, 0, 500)
    counted = {"a": 100, "rare": 1, "z": 7, "b": 40, "c": 40, "d": 3, "e": 2}
    names = []
    for order in (list(counted), sorted(counted), sorted(counted, reverse=True)):
        live = categorical.CategoryCounts({c: counted[c] for c in order}, 0, sum(counted.values()))
        names.append(categorical.compare(ref, live).unseen)
    assert names[0] == names[1] == names[2] == ("b", "c", "z", "d", "e", "rare")


def test_live_values_below_a_reference_piled_at_its_minimum_get_their_own_bin() -> None:
    """Bins are the reference's deciles, the first open below: (-inf, e1]. When a tenth or more of the
    reference sits at its minimum, e1 is that minimum, and live values below it fell in one bin with it: a
    constant reference at 3 and a live window entirely below 3 had PSI and Jensen-Shannon 0, no drift."""
    rng = np.random.default_rng(9)
    const, live = np.full(2000, 3.0), rng.normal(0, 1, 1500)
    tied = np.concatenate([np.zeros(600), rng.exponential(size=1400)])  # 30% at its minimum, 0
    below = np.concatenate([-rng.exponential(size=700), rng.exponential(size=800)])
    s = _engine([const, tied], [live, below])
    # (-inf, 3) holds every live value and no reference value; (3, inf) is empty in both (PSI's floor)
    want_const = distance.jensenshannon([0, 2000, 0], [1500, 0, 0], base=2)
    assert s.jensen_shannon[0] == pytest.approx(want_const, abs=TOL)
    assert s.psi[0] > 5
    assert s.jensen_shannon[1] > 0.3
    # a reference without such a pile keeps its ten bins exactly
    smooth = rng.normal(size=2000)
    prof = numerical.profile(("f",), [smooth], 10, 1)
    assert prof.edges[0].tolist() == np.quantile(smooth, np.arange(1, 10) / 10).tolist()


def test_negative_zero_is_the_category_zero_and_keeps_its_count() -> None:
    """Arrow counts 0.0 and -0.0 apart (np.round(-0.04, 1) is -0.0); as one dictionary key the second
    overwrote the first: 0.0 x 200 and -0.0 x 100 counted as 100, and the table no longer summed to the
    valid rows. The Spark job's counts (by text: '0.0', '-0.0') went the same way."""
    from modeldeploy.analysis.summary import _counts

    ref = np.array([0.0] * 200 + [-0.0] * 100 + [0.5] * 300)
    live = np.array([0.0] * 100 + [0.5] * 400)
    r, lv = categorical.count(ref), categorical.count(live)
    assert (r.counts, r.valid) == ({0.0: 300, 0.5: 300}, 600)
    want = stats.chi2_contingency([[300, 300], [100, 400]])
    assert categorical.compare(r, lv).chi2_p == pytest.approx(want.pvalue, abs=TOL)
    assert _counts([[0.0, 200], [-0.0, 100], [0.5, 300]], 600) == r
