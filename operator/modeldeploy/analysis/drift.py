"""The drift engine: profile the reference once, then compare each live window with it.

Dataset drift is the share of drifted features reaching ``drift_share``; prediction drift is any drifted
prediction column. Neither is declared on too little evidence: a feature below ``min_samples`` valid values
in either window is InsufficientData, and the dataset rule needs at least half of the features evaluated.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from modeldeploy.api.analysis import MAX_FEATURES
from modeldeploy.caps import LimitExceeded

from . import categorical, numerical
from .methods import choose_method, infer_kind, threshold_for, why_method
from .types import (
    P_VALUE_METHODS,
    Column,
    Columns,
    Correction,
    DriftConfig,
    DriftMethod,
    DriftResult,
    FeatureConfig,
    FeatureKind,
    FeatureResult,
    Verdict,
)

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PlannedFeature:
    name: str
    kind: FeatureKind
    method: DriftMethod
    threshold: float
    prediction: bool
    why: str = ""  # methods.why_method


@dataclass(frozen=True)
class ReferenceProfile:
    config: DriftConfig
    planned: tuple[PlannedFeature, ...]
    numerical: numerical.NumericalReference
    categorical: dict[str, categorical.CategoryCounts]
    valid: dict[str, int]
    missing: dict[str, float]


def feature_list(config: DriftConfig, reference: Mapping[str, object]) -> list[tuple[FeatureConfig, bool]]:
    preds = {f.name for f in config.prediction_features}
    feats = config.features or tuple(FeatureConfig(n) for n in reference if n not in preds)
    if len(feats) > MAX_FEATURES:
        # A spec naming no features tests every reference column: a file with thousands of columns must
        # not become thousands of tests (and status entries) per interval.
        raise LimitExceeded(
            f"the reference data has {len(feats)} columns to test: more than {MAX_FEATURES}, the operator's "
            "limit; name the features in analysis.drift.numerical / categorical"
        )
    chosen = [(f, False) for f in feats] + [(f, True) for f in config.prediction_features]
    absent = [f.name for f, _ in chosen if f.name not in reference]
    if absent:
        names = sorted(reference)
        shown = f"{names[:20]}" + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        raise ValueError(
            f"drift features {absent[:20]} are not columns of the reference data (columns: {shown}); "
            "fix drift.features or the reference dataset"
        )
    return chosen


def _length(column: Column) -> int:
    return len(column)


def profile_reference(config: DriftConfig, reference: Columns) -> ReferenceProfile:
    planned: list[PlannedFeature] = []
    num_names: list[str] = []
    num_cols: list[numerical.F64] = []
    cats: dict[str, categorical.CategoryCounts] = {}
    valid: dict[str, int] = {}
    missing: dict[str, float] = {}
    for feature, is_pred in feature_list(config, reference):
        col = reference[feature.name]
        kind = infer_kind(feature, col, config)
        rows = _length(col)
        if kind is FeatureKind.NUMERICAL:
            x = numerical.numbers(col)
            valid[feature.name] = int(np.count_nonzero(~np.isnan(x)))
            num_names.append(feature.name)
            num_cols.append(x)
        else:
            cats[feature.name] = categorical.count(col)
            valid[feature.name] = cats[feature.name].valid
        missing[feature.name] = 1.0 - valid[feature.name] / rows if rows else 0.0
        method = choose_method(feature, kind, valid[feature.name], config)
        why = why_method(feature, kind, valid[feature.name], config)
        planned.append(
            PlannedFeature(feature.name, kind, method, threshold_for(feature, method), is_pred, why)
        )
    num = numerical.profile(tuple(num_names), num_cols, config.n_bins, config.block_features)
    return ReferenceProfile(config, tuple(planned), num, cats, valid, missing)


def detect_drift(config: DriftConfig, reference: Columns, live: Columns) -> DriftResult:
    return compare(profile_reference(config, reference), live)


def compare(profile: ReferenceProfile, live: Columns) -> DriftResult:
    return decide(profile, _numerical_results(profile, live) | _categorical_results(profile, live))


def decide(profile: ReferenceProfile, results: dict[str, FeatureResult]) -> DriftResult:
    """Per-feature results to the dataset verdict: the multiple-testing correction, then the share rule."""
    cfg = profile.config
    results = _corrected(results, cfg.correction)
    features = tuple(results[p.name] for p in profile.planned if not p.prediction)
    predictions = tuple(results[p.name] for p in profile.planned if p.prediction)
    return _dataset_verdict(cfg, features, predictions)


def _decide(plan: PlannedFeature, value: float) -> bool:
    return value < plan.threshold if plan.method in P_VALUE_METHODS else value >= plan.threshold


def adjust_p_values(p: F64, correction: Correction) -> F64:
    """Bonferroni: m * p. Benjamini-Hochberg: the step-up adjusted p-values, min over j >= i of m/j p_(j)."""
    m = p.size
    if correction is Correction.NONE or m == 0:
        return p
    if correction is Correction.BONFERRONI:
        return np.asarray(np.minimum(p * m, 1.0), dtype=np.float64)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _corrected(results: dict[str, FeatureResult], correction: Correction) -> dict[str, FeatureResult]:
    """Re-decide the p-value tests on corrected p-values; thresholds stay the configured alpha."""
    tested = [
        r for r in results.values()
        if r.method in P_VALUE_METHODS and r.verdict in (Verdict.SUCCESSFUL, Verdict.FAILED)
    ]  # fmt: skip
    if correction is Correction.NONE or not tested:
        return results
    adjusted = adjust_p_values(np.array([r.statistic for r in tested], dtype=np.float64), correction)
    out = dict(results)
    for r, p in zip(tested, adjusted, strict=True):
        drifted = r.threshold is not None and p < r.threshold
        verdict = Verdict.FAILED if drifted else Verdict.SUCCESSFUL
        out[r.feature] = replace(r, statistic=float(p), verdict=verdict)
    return out


def _missing_share(valid: int, rows: int) -> float:
    return 1.0 - valid / rows if rows else 1.0


def _insufficient(
    profile: ReferenceProfile, plan: PlannedFeature, live_valid: int, rows: int, why: str
) -> FeatureResult:
    need = profile.config.min_samples
    msg = why or (
        f"{plan.name}: {profile.valid[plan.name]} valid reference values and {live_valid} live; "
        f"at least {need} needed in each (raise the window or lower drift.minSamples)"
    )
    return FeatureResult(
        feature=plan.name,
        kind=plan.kind,
        method=plan.method,
        why=plan.why,
        verdict=Verdict.INSUFFICIENT_DATA,
        reference_rows=profile.valid[plan.name],
        live_rows=live_valid,
        missing_reference=profile.missing[plan.name],
        missing_live=_missing_share(live_valid, rows),
        message=msg,
    )


def _tested(
    profile: ReferenceProfile,
    plan: PlannedFeature,
    stats: dict[str, float],
    live: tuple[int, int],
    note: str,
) -> FeatureResult:
    """A feature with enough data: ``stats`` holds every statistic, keyed by the method's value."""
    value = stats[plan.method.value]
    drifted = _decide(plan, value)
    p_value = stats.get(DriftMethod.KS.value if plan.kind is FeatureKind.NUMERICAL else "chisquared")
    return FeatureResult(
        feature=plan.name,
        kind=plan.kind,
        method=plan.method,
        why=plan.why,
        verdict=Verdict.FAILED if drifted else Verdict.SUCCESSFUL,
        statistic=value,
        threshold=plan.threshold,
        p_value=p_value,
        distances=stats,
        reference_rows=profile.valid[plan.name],
        live_rows=live[0],
        missing_reference=profile.missing[plan.name],
        missing_live=_missing_share(*live),
        message=note,
    )


def _numerical_results(profile: ReferenceProfile, live: Columns) -> dict[str, FeatureResult]:
    names = profile.numerical.names
    if not names:
        return {}
    rows = {n: _length(live[n]) if n in live else 0 for n in names}
    cols = [numerical.numbers(live[n]) if rows[n] else np.full(1, np.nan) for n in names]
    width = max(c.size for c in cols)
    cols = [c if c.size == width else np.concatenate([c, np.full(width - c.size, np.nan)]) for c in cols]
    plans = {p.name: p for p in profile.planned}
    want_p = np.array([plans[n].method is DriftMethod.KS or profile.config.all_p_values for n in names])
    s = numerical.compare(profile.numerical, cols, want_p)
    return numerical_results(profile, s, rows, {n for n in names if n in live})


def numerical_results(
    profile: ReferenceProfile, s: numerical.NumericalStats, rows: dict[str, int], present: set[str]
) -> dict[str, FeatureResult]:
    """Results from statistics however computed (here, or by the Spark job: ``analysis.summary``); a NaN
    statistic was not computed and is left out."""
    plans = {p.name: p for p in profile.planned}
    out: dict[str, FeatureResult] = {}
    for i, name in enumerate(profile.numerical.names):
        plan, v2 = plans[name], int(s.valid[i])
        if name not in present:
            out[name] = _insufficient(profile, plan, 0, 0, f"{name}: column missing from the live window")
        elif min(profile.valid[name], v2) < profile.config.min_samples:
            out[name] = _insufficient(profile, plan, v2, rows[name], "")
        else:
            stats = {
                "ks_statistic": float(s.ks[i]),
                "wasserstein_raw": float(s.wasserstein[i]),
                DriftMethod.WASSERSTEIN.value: float(s.wasserstein_norm[i]),
                DriftMethod.PSI.value: float(s.psi[i]),
                DriftMethod.JENSEN_SHANNON.value: float(s.jensen_shannon[i]),
            }
            if not np.isnan(s.ks_p[i]):
                stats[DriftMethod.KS.value] = float(s.ks_p[i])
            stats = {k: v for k, v in stats.items() if not math.isnan(v)}
            if plan.method.value not in stats:
                why = f"{name}: {plan.method.value} was not computed ({s.absent or 'no value'})"
                out[name] = dataclasses.replace(
                    _insufficient(profile, plan, v2, rows[name], why), verdict=Verdict.INCONCLUSIVE
                )
                continue
            note = _numerical_note(profile, i, s)
            out[name] = _tested(profile, plan, stats, (v2, rows[name]), note)
    return out


def _numerical_note(profile: ReferenceProfile, i: int, s: numerical.NumericalStats) -> str:
    if profile.numerical.std[i] == 0.0:
        same = s.wasserstein[i] == 0.0
        return "constant in both windows" if same else "constant in the reference; live values differ"
    return ""


def _categorical_results(profile: ReferenceProfile, live: Columns) -> dict[str, FeatureResult]:
    counts = {
        p.name: categorical.count(live[p.name]) if p.name in live else None
        for p in profile.planned
        if p.kind is FeatureKind.CATEGORICAL
    }
    return categorical_results(profile, counts)


def categorical_results(
    profile: ReferenceProfile, live: dict[str, categorical.CategoryCounts | None]
) -> dict[str, FeatureResult]:
    """Results from live category counts however counted (None: the column is missing)."""
    out: dict[str, FeatureResult] = {}
    for plan in profile.planned:
        if plan.kind is not FeatureKind.CATEGORICAL:
            continue
        counts = live.get(plan.name)
        if counts is None:
            out[plan.name] = _insufficient(
                profile, plan, 0, 0, f"{plan.name}: column missing from the live window"
            )
            continue
        if min(profile.valid[plan.name], counts.valid) < profile.config.min_samples:
            out[plan.name] = _insufficient(profile, plan, counts.valid, counts.rows, "")
            continue
        s = categorical.compare(profile.categorical[plan.name], counts)
        stats = {
            DriftMethod.CHI_SQUARED.value: s.chi2_p,
            "chi2_statistic": s.chi2,
            DriftMethod.PSI.value: s.psi,
            DriftMethod.JENSEN_SHANNON.value: s.jensen_shannon,
        }
        live_rows = (counts.valid, counts.rows)
        out[plan.name] = _tested(profile, plan, stats, live_rows, _categorical_note(s))
    return out


def _categorical_note(s: categorical.CategoricalStats) -> str:
    if s.categories == 1:
        return "constant in both windows"
    if s.unseen:
        shown = ", ".join(categorical.shown(c) for c in s.unseen[:5]) + (", ..." if len(s.unseen) > 5 else "")
        return f"categories unseen in the reference: {shown} ({s.unseen_share:.1%} of live values)"
    return ""


def _dataset_verdict(
    cfg: DriftConfig, features: tuple[FeatureResult, ...], predictions: tuple[FeatureResult, ...]
) -> DriftResult:
    done = [f for f in features if f.verdict in (Verdict.SUCCESSFUL, Verdict.FAILED)]
    drifted = [f.feature for f in done if f.drifted]
    share = len(drifted) / len(done) if done else 0.0
    pred_drift = [p.feature for p in predictions if p.drifted]
    enough = len(done) >= math.ceil(len(features) / 2) and bool(done)
    parts: list[str] = []
    if features:
        limit = f"{cfg.drift_share:.0%}"
        parts.append(f"{len(drifted)} of {len(done)} evaluated features drifted ({share:.0%}; limit {limit})")
        if len(done) < len(features):
            parts.append(f"{len(features) - len(done)} of {len(features)} features lacked data")
    if pred_drift:
        parts.append(f"prediction drift in {', '.join(pred_drift)}")
    dataset_drift = enough and share >= cfg.drift_share
    if dataset_drift or pred_drift:
        verdict = Verdict.FAILED
        if drifted:
            parts.append(f"drifted: {', '.join(drifted[:10])}")
    elif features and not enough:
        verdict = Verdict.INSUFFICIENT_DATA if not done else Verdict.INCONCLUSIVE
        parts.append("fewer than half of the features could be evaluated")
    elif not features and not any(p.verdict is Verdict.SUCCESSFUL for p in predictions):
        verdict = Verdict.INSUFFICIENT_DATA
    else:
        verdict = Verdict.SUCCESSFUL
    return DriftResult(verdict, features, predictions, share, "; ".join(parts))
