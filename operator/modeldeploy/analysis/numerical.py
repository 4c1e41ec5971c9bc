"""Numerical drift statistics for many features at once.

Each block of features is one (features, rows) array, sorted in one call. The reference is sorted once and
kept (its profile is reused across analysis intervals); the live window is sorted, and each live value's place
in the merged run is found by binary search in the sorted reference. One pass over the merged run then gives
the ECDF difference at every point: its maximum at the end of each tie group is the KS statistic, and its
integral is the Wasserstein distance, exactly as ``scipy.stats.ks_2samp`` and ``wasserstein_distance``
define them. Missing values (NaN, and +-inf, which are treated as missing) sort last and are cut off.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from .distances import jensen_shannon, psi
from .ks import ks_pvalues
from .parallel import map_blocks
from .types import Column

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
STD_FLOOR = 1e-3  # Azure ML's floor for the Wasserstein normaliser


def as_float(column: npt.NDArray[np.generic]) -> F64:
    x = np.asarray(column, dtype=np.float64)
    return np.where(np.isfinite(x), x, np.nan) if not np.isfinite(x).all() else x


def numbers(column: Column) -> F64:
    """A numerical feature's column as floats, missing values NaN. Text is parsed, and text that is not a
    number is missing (as the Spark job's ``try_cast`` has it), not an error."""
    if isinstance(column, pa.Array | pa.ChunkedArray) and (
        pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    ):
        try:
            column = pc.cast(pc.utf8_trim_whitespace(column), pa.float64())
        except pa.ArrowInvalid:
            column = pa.array([_number(v) for v in column.to_pylist()], pa.float64())
        return as_float(pc.fill_null(column, np.nan).to_numpy())
    if isinstance(column, pa.Array | pa.ChunkedArray) and (
        pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)
    ):  # seconds since the epoch, as Spark casts a timestamp (a date: its midnight, UTC)
        micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
        return as_float(
            pc.fill_null(pc.divide(pc.cast(micros, pa.float64(), safe=False), 1e6), np.nan).to_numpy()
        )
    return as_float(np.asarray(column))


def _number(text: str | None) -> float:
    try:
        return float(text) if text is not None and "_" not in text else np.nan
    except ValueError:
        return np.nan


@dataclass(frozen=True)
class NumericalReference:
    names: tuple[str, ...]
    blocks: tuple[F64, ...]  # sorted (features, rows), missing last
    valid: I64
    std: F64
    edges: tuple[F64, ...]  # inner quantile edges per feature
    counts: tuple[F64, ...]  # reference counts per bin

    @property
    def rows(self) -> int:
        return int(self.blocks[0].shape[1]) if self.blocks else 0


@dataclass(frozen=True)
class NumericalStats:
    ks: F64
    ks_p: F64
    wasserstein: F64
    wasserstein_norm: F64
    psi: F64
    jensen_shannon: F64
    valid: I64
    absent: str = ""  # why statistics that are NaN were not computed (the Spark summary has no bins)


def profile(names: tuple[str, ...], columns: list[F64], n_bins: int, block: int) -> NumericalReference:
    blocks = tuple(np.sort(np.stack(columns[i : i + block]), axis=1) for i in range(0, len(columns), block))
    valid = np.array([np.count_nonzero(~np.isnan(c)) for c in columns], dtype=np.int64)
    std = np.array([_std(c) if v else np.nan for c, v in zip(columns, valid, strict=True)])
    rows = [r for b in blocks for r in b]
    edges = tuple(_edges(r[:v], n_bins) for r, v in zip(rows, valid, strict=True))
    counts = tuple(_bin_counts(r[:v], e) for r, v, e in zip(rows, valid, edges, strict=True))
    return NumericalReference(names, blocks, valid, std, edges, counts)


def _std(x: F64) -> float:
    """The population standard deviation of the valid values. Far from 1 it is taken at unit scale: at
    |x| ~ 1e300 the squares overflow (inf: the normalised Wasserstein distance would be 0 however far the
    data moved), at ~1e-300 they underflow (0: a varying column would read as constant)."""
    scale = float(np.nanmax(np.abs(x)))
    if scale == 0.0 or 1e-100 < scale < 1e100:
        return float(np.nanstd(x))
    return float(np.nanstd(x / scale) * scale)


def _edges(sorted_valid: F64, n_bins: int) -> F64:
    if sorted_valid.size == 0:
        return np.empty(0)
    q = np.quantile(sorted_valid, np.arange(1, n_bins) / n_bins)
    edges = np.asarray(np.unique(q), dtype=np.float64)
    if edges[0] == sorted_valid[0]:
        # A tenth or more of the reference at its minimum (a constant column, heavy ties): live values
        # below it get a bin of their own instead of sharing (-inf, minimum] with it.
        edges = np.concatenate([[np.nextafter(edges[0], -np.inf)], edges])
    return edges


def _bin_counts(sorted_valid: F64, edges: F64) -> F64:
    """Counts in (-inf, e1], (e1, e2], ..., (e_last, inf): the open ends catch values beyond the reference."""
    le = np.searchsorted(sorted_valid, edges, side="right")
    return np.diff(np.concatenate([[0], le, [sorted_valid.size]])).astype(np.float64)


def compare(
    ref: NumericalReference, live: list[F64], want_p: npt.NDArray[np.bool_] | None = None
) -> NumericalStats:
    """``want_p`` limits the KS p-value to the features whose decision needs it; the others report the KS
    statistic with a NaN p-value. Blocks of features are compared on ``parallel.pool()``: numpy's sorts,
    binary searches and cumulative sums release the GIL, so both cores work."""
    if len(live) != len(ref.names):
        raise ValueError(f"expected {len(ref.names)} live numerical columns, got {len(live)}")
    starts = list(itertools.accumulate((b.shape[0] for b in ref.blocks), initial=0))[:-1]
    parts = map_blocks(
        lambda b, s: _compare_block(ref, b, s, live[s : s + ref.blocks[b].shape[0]]), list(enumerate(starts))
    )
    d_all = np.concatenate([p[0] for p in parts]) if parts else np.empty(0)
    w_all = np.concatenate([p[1] for p in parts]) if parts else np.empty(0)
    v2_all = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, dtype=np.int64)
    live_counts = [c for p in parts for c in p[3]]
    ok = (ref.valid > 0) & (v2_all > 0) & (want_p if want_p is not None else True)
    stat, p = d_all.copy(), np.full(d_all.shape, np.nan)
    if ok.any():
        stat[ok], p[ok] = ks_pvalues(d_all[ok], ref.valid[ok], v2_all[ok])
    psis = np.array([psi(r, lv) for r, lv in zip(ref.counts, live_counts, strict=True)])
    jss = np.array([jensen_shannon(r, lv) for r, lv in zip(ref.counts, live_counts, strict=True)])
    return NumericalStats(
        stat, p, w_all, w_all / np.maximum(ref.std, STD_FLOOR), psis, jss, v2_all.astype(np.int64)
    )


def _compare_block(
    ref: NumericalReference, b: int, start: int, live: list[F64]
) -> tuple[F64, F64, I64, list[F64]]:
    block = ref.blocks[b]
    live_block = np.sort(np.stack(live), axis=1)
    v2 = np.count_nonzero(~np.isnan(live_block), axis=1).astype(np.int64)
    d, w = _merged(block, live_block, ref.valid[start : start + block.shape[0]], v2)
    edges = ref.edges[start : start + block.shape[0]]
    counts = [_bin_counts(row[:v], e) for row, v, e in zip(live_block, v2, edges, strict=True)]
    return d, w, v2, counts


def _merged(ref_sorted: F64, live_sorted: F64, v1: I64, v2: I64) -> tuple[F64, F64]:
    """KS statistic and Wasserstein distance per row of two sorted (features, rows) arrays."""
    out = np.array(
        [_merged_row(r[:a], lv[:b]) for r, lv, a, b in zip(ref_sorted, live_sorted, v1, v2, strict=True)]
    )
    return np.asarray(out[:, 0], dtype=np.float64), np.asarray(out[:, 1], dtype=np.float64)


def _merged_row(ref: F64, live: F64) -> tuple[float, float]:
    """Both sorted, no missing values. Each live value's place in the merged run comes from one binary search
    (ties go after the reference's equal values, as a stable merge would put them), so the merge costs no
    argsort and only a few arrays of the merged length are alive at once."""
    n1, n2 = ref.size, live.size
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    n = n1 + n2
    at = np.searchsorted(ref, live, side="right")
    at += np.arange(n2)
    is_live = np.zeros(n, dtype=bool)
    is_live[at] = True
    vals = np.empty(n)
    vals[at] = live
    del at
    vals[~is_live] = ref
    # |F_ref - F_live| just after each merged point
    live_cdf = np.cumsum(is_live, dtype=np.float64)
    del is_live
    diff = np.arange(1, n + 1, dtype=np.float64)
    diff -= live_cdf
    diff /= n1
    live_cdf /= n2
    diff -= live_cdf
    del live_cdf
    np.abs(diff, out=diff)
    # The ECDFs step at the end of each run of equal values: only there is the difference attained.
    tie_end = vals[:-1] != vals[1:]
    ks = float(np.max(diff[:-1], where=tie_end, initial=float(diff[-1])))
    wass = float(np.dot(np.diff(vals), diff[:-1]))
    return ks, wass
