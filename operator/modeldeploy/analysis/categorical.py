"""Categorical drift statistics: hash counts in Arrow (no per-row Python), then one 2 x K table per feature.

Chi-squared is ``scipy.stats.chi2_contingency`` on [reference counts; live counts] over the categories seen in
either window, including its Yates correction when there is one degree of freedom. Categories unseen in the
reference are kept (they are the drift); categories absent from both windows never appear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from .distances import jensen_shannon, psi
from .types import Column

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CategoryCounts:
    counts: dict[object, int]
    missing: int
    rows: int

    @property
    def valid(self) -> int:
        return self.rows - self.missing


@dataclass(frozen=True)
class CategoricalStats:
    chi2: float
    chi2_p: float
    psi: float
    jensen_shannon: float
    categories: int
    unseen: tuple[object, ...]
    unseen_share: float


def to_arrow(column: Column) -> pa.Array | pa.ChunkedArray:
    if isinstance(column, pa.Array | pa.ChunkedArray):
        return column
    return pa.array(np.asarray(column), from_pandas=True)  # NaN becomes null: missing, not a category


def count(column: Column) -> CategoryCounts:
    arr = to_arrow(column)
    if pa.types.is_dictionary(arr.type):
        arr = pc.cast(arr, arr.type.value_type)
    vc = pc.value_counts(arr)
    values, counts = vc.field("values").to_pylist(), vc.field("counts").to_pylist()
    return CategoryCounts(tally(zip(values, counts, strict=True)), int(arr.null_count), len(arr))


def tally(pairs: Iterable[tuple[object, int] | list[Any]]) -> dict[object, int]:
    """Counts by category, adding those that are one key: Arrow (and the Spark job, by text) count 0.0 and
    -0.0 apart, and a dictionary holds one of them (as 0.0, which messages show as 0)."""
    table: dict[object, int] = {}
    for v, c in pairs:
        if v is not None:
            key = 0.0 if isinstance(v, float) and v == 0.0 else v
            table[key] = table.get(key, 0) + int(c)
    return table


def compare(ref: CategoryCounts, live: CategoryCounts) -> CategoricalStats:
    cats = list(ref.counts) + [c for c in live.counts if c not in ref.counts]
    r = np.array([ref.counts.get(c, 0) for c in cats], dtype=np.float64)
    lv = np.array([live.counts.get(c, 0) for c in cats], dtype=np.float64)
    # most frequent first (ties by name): the same names whichever engine counted, in whatever order
    unseen = tuple(
        sorted((c for c in live.counts if c not in ref.counts), key=lambda c: (-live.counts[c], shown(c)))
    )
    unseen_share = float(sum(live.counts[c] for c in unseen) / live.valid) if live.valid else 0.0
    chi2, p = chi_squared(r, lv)
    return CategoricalStats(
        chi2, p, float(psi(r, lv)), float(jensen_shannon(r, lv)), len(cats), unseen, unseen_share
    )


def shown(category: object) -> str:
    """A category as messages name it: a whole number as an integer, whether the column was read as floats
    (in-process, every number column is float64) or as integers (the Spark job keeps them)."""
    if isinstance(category, float) and category.is_integer():
        return repr(int(category))
    return repr(category)


def chi_squared(ref_counts: F64, live_counts: F64) -> tuple[float, float]:
    """Pearson's test of homogeneity; one category in all is no evidence of anything: (0, 1)."""
    observed = np.stack([ref_counts, live_counts])
    observed = observed[:, observed.sum(axis=0) > 0]
    if observed.shape[1] < 2 or (observed.sum(axis=1) == 0).any():
        return 0.0, 1.0
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / observed.sum()
    dof = observed.shape[1] - 1
    if dof == 1:  # Yates's continuity correction, as chi2_contingency applies by default
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = float(((observed - expected) ** 2 / expected).sum())
    return stat, float(stats.chi2.sf(stat, dof))
