"""Which test a feature gets, and what bound it is held to, when the spec leaves it open.

Defaults follow the facts the peers agree on: hypothesis tests (KS, chi-squared at alpha 0.05) while the
reference is small; on large samples p-values are always tiny, so distances decide instead (normalised
Wasserstein 0.1 for numbers, Jensen-Shannon 0.1 for categories; Azure ML's and Evidently's defaults).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .categorical import to_arrow
from .types import (
    CATEGORICAL_METHODS,
    NUMERICAL_METHODS,
    Column,
    DriftConfig,
    DriftMethod,
    FeatureConfig,
    FeatureKind,
)

DEFAULT_THRESHOLDS: dict[DriftMethod, float] = {
    DriftMethod.KS: 0.05,
    DriftMethod.CHI_SQUARED: 0.05,
    DriftMethod.WASSERSTEIN: 0.1,
    DriftMethod.JENSEN_SHANNON: 0.1,
    DriftMethod.PSI: 0.1,
}


def infer_kind(feature: FeatureConfig, reference: Column, config: DriftConfig) -> FeatureKind:
    """Strings, booleans and dictionaries are categorical; so are numbers with few distinct values."""
    if feature.kind is not None:
        return feature.kind
    if isinstance(reference, np.ndarray) and reference.dtype.kind in "iuf":
        # A prefix with more distinct values settles it without hashing the whole column.
        head = reference[:4096]
        if (
            np.unique(head[~np.isnan(head)] if head.dtype.kind == "f" else head).size
            > config.categorical_max_unique
        ):
            return FeatureKind.NUMERICAL
        distinct = pc.count_distinct(pa.array(reference, from_pandas=True)).as_py()
        return FeatureKind.CATEGORICAL if distinct <= config.categorical_max_unique else FeatureKind.NUMERICAL
    arr = to_arrow(reference)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        distinct = pc.count_distinct(arr).as_py()
        return FeatureKind.CATEGORICAL if distinct <= config.categorical_max_unique else FeatureKind.NUMERICAL
    return FeatureKind.CATEGORICAL


def choose_method(
    feature: FeatureConfig, kind: FeatureKind, reference_rows: int, config: DriftConfig
) -> DriftMethod:
    if feature.method is not DriftMethod.AUTO:
        allowed = NUMERICAL_METHODS if kind is FeatureKind.NUMERICAL else CATEGORICAL_METHODS
        if feature.method not in allowed:
            names = ", ".join(sorted(m.value for m in allowed))
            raise ValueError(
                f"drift feature {feature.name!r}: method {feature.method.value!r} does not apply to "
                f"{kind.value} data; use one of: {names}"
            )
        return feature.method
    small = reference_rows <= config.small_sample_rows
    if kind is FeatureKind.NUMERICAL:
        return DriftMethod.KS if small else DriftMethod.WASSERSTEIN
    return DriftMethod.CHI_SQUARED if small else DriftMethod.JENSEN_SHANNON


def why_method(feature: FeatureConfig, kind: FeatureKind, reference_rows: int, config: DriftConfig) -> str:
    """Why this test: named in the spec, or the engine's choice by type and reference size (in the status,
    so nobody has to know the rule to read a verdict)."""
    if feature.method is not DriftMethod.AUTO:
        return "set in the spec"
    side = "<=" if reference_rows <= config.small_sample_rows else ">"
    rows = f"{reference_rows} reference rows ({side} {config.small_sample_rows})"
    return f"chosen for {kind.value} data with {rows}"


def threshold_for(feature: FeatureConfig, method: DriftMethod) -> float:
    return feature.threshold if feature.threshold is not None else DEFAULT_THRESHOLDS[method]
