"""A Spark job's summary (``spark_job.py``) to a drift result, through the same functions as an in-process
analysis: the test chosen by the same rule, KS p-values by ``ks.ks_pvalues`` (scipy's choice of exact or
asymptotic), chi-squared, PSI and Jensen-Shannon of categories by ``categorical.compare``, the same
corrections and dataset rule. Equal summaries give equal results, whichever engine counted.

Numerical PSI and Jensen-Shannon come from the job's counts at or below each reference decile (the same
edges as in-process, computed as numpy does); a summary without them leaves those statistics out, and a
feature tested by one of them is then Inconclusive, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from . import categorical, numerical
from .distances import jensen_shannon, psi
from .drift import PlannedFeature, ReferenceProfile, categorical_results, decide, numerical_results
from .ks import ks_pvalues
from .methods import choose_method, threshold_for, why_method
from .types import DriftConfig, DriftMethod, DriftResult, FeatureKind

NO_BINS_WHY = "the Spark job's summary has no bin counts for it"


def _counts(pairs: list[list[Any]], rows: int) -> categorical.CategoryCounts:
    table = categorical.tally(pairs)
    return categorical.CategoryCounts(table, rows - sum(table.values()), rows)


def result_from_summary(config: DriftConfig, summary: Mapping[str, Any]) -> DriftResult:
    nums: Mapping[str, Mapping[str, float]] = summary["numerical"]
    cats: Mapping[str, Mapping[str, Any]] = summary["categorical"]
    ref_rows, live_rows = int(summary["reference_rows"]), int(summary["live_rows"])
    absent = set(summary.get("absent", ()))  # not in the live window (their reference side is counted)
    planned: list[PlannedFeature] = []
    valid: dict[str, int] = {}
    ref_cats: dict[str, categorical.CategoryCounts] = {}
    live_cats: dict[str, categorical.CategoryCounts | None] = {}
    chosen = [(f, False) for f in config.features] + [(f, True) for f in config.prediction_features]
    for feature, is_pred in chosen:
        kind = feature.kind or (FeatureKind.NUMERICAL if feature.name in nums else FeatureKind.CATEGORICAL)
        if kind is FeatureKind.NUMERICAL:
            valid[feature.name] = int(nums.get(feature.name, {}).get("n1", 0))
        else:
            c = cats.get(feature.name)
            ref_cats[feature.name] = _counts(c["reference"] if c else [], ref_rows)
            live_cats[feature.name] = (
                _counts(c["live"], live_rows) if c and feature.name not in absent else None
            )
            valid[feature.name] = ref_cats[feature.name].valid
        method = choose_method(feature, kind, valid[feature.name], config)
        why = why_method(feature, kind, valid[feature.name], config)
        planned.append(
            PlannedFeature(feature.name, kind, method, threshold_for(feature, method), is_pred, why)
        )
    names = tuple(p.name for p in planned if p.kind is FeatureKind.NUMERICAL)
    missing = {n: 1.0 - v / ref_rows if ref_rows else 0.0 for n, v in valid.items()}
    std = np.array([nums.get(n, {}).get("std", np.nan) for n in names], dtype=np.float64)
    n1 = np.array([valid[n] for n in names], dtype=np.int64)
    ref = numerical.NumericalReference(names, (), n1, std, (), ())
    profile = ReferenceProfile(config, tuple(planned), ref, ref_cats, valid, missing)
    # KS p-values where the in-process engine computes them: for KS tests, or every one when asked
    methods = {p.name: p.method for p in planned}
    want_p = np.array([methods[n] is DriftMethod.KS or config.all_p_values for n in names], dtype=bool)
    stats = _numerical_stats(names, nums, ref, want_p)
    results = numerical_results(profile, stats, dict.fromkeys(names, live_rows), set(nums) - absent)
    results |= categorical_results(profile, live_cats)
    return decide(profile, results)


def _numerical_stats(
    names: tuple[str, ...],
    nums: Mapping[str, Mapping[str, float]],
    ref: numerical.NumericalReference,
    want_p: npt.NDArray[np.bool_],
) -> numerical.NumericalStats:
    def col(key: str) -> numerical.F64:
        return np.array([float(nums.get(n, {}).get(key, np.nan)) for n in names], dtype=np.float64)

    d, w = col("d"), col("w")
    n2 = np.array([int(nums.get(n, {}).get("n2", 0)) for n in names], dtype=np.int64)
    stat, p = d.copy(), np.full(d.shape, np.nan)
    ok = (ref.valid > 0) & (n2 > 0) & ~np.isnan(d) & want_p
    if ok.any():
        stat[ok], p[ok] = ks_pvalues(d[ok], ref.valid[ok], n2[ok])
    psis, jss = np.full(d.shape, np.nan), np.full(d.shape, np.nan)
    for i, name in enumerate(names):
        f = nums.get(name, {})
        if "ref_le" in f and "live_le" in f and ref.valid[i] > 0 and n2[i] > 0:
            # (-inf, e1], (e1, e2], ..., (e_last, inf): the in-process engine's bins from the same counts
            r = np.diff(np.concatenate([[0], f["ref_le"], [ref.valid[i]]])).astype(np.float64)
            lv = np.diff(np.concatenate([[0], f["live_le"], [n2[i]]])).astype(np.float64)
            psis[i], jss[i] = psi(r, lv), jensen_shannon(r, lv)
    norm = w / np.maximum(ref.std, numerical.STD_FLOOR)
    return numerical.NumericalStats(stat, p, w, norm, psis, jss, n2, NO_BINS_WHY)
