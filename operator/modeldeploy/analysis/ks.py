"""Two-sample Kolmogorov-Smirnov p-values, vectorised over features, equal to ``scipy.stats.ks_2samp``'s
default (``method="auto"``, two-sided): exact when both samples have at most 10,000 values, else Smirnov's
asymptotic distribution ``kstwo.sf(D, round(n1*n2/(n1+n2)))`` (computed by ``kolmogorov.kstwo_sf``, which
is what makes KS affordable at large n).

The exact p-value is the share of lattice paths from (0, 0) to (n1, n2) that leave the band
|i/n1 - j/n2| < D. It is computed as a probability, diagonal by diagonal, only inside the band, for every
feature sharing (n1, n2) at once: a path reaching (i, j) came from (i-1, j) with probability i/(i+j).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .kolmogorov import kstwo_sf

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

EXACT_MAX_N = 10_000  # scipy's MAX_AUTO_N


def ks_pvalues(d: F64, n1: I64, n2: I64) -> tuple[F64, F64]:
    """(statistic, p-value) per feature as scipy reports them: in exact mode the statistic is snapped to
    the lattice, ``round(D * lcm) / lcm``."""
    d = np.asarray(d, dtype=np.float64).copy()
    p = np.full(d.shape, np.nan)
    asymp = np.maximum(n1, n2) > EXACT_MAX_N
    if asymp.any():
        m = np.maximum(n1[asymp], n2[asymp]).astype(np.float64)
        n = np.minimum(n1[asymp], n2[asymp]).astype(np.float64)
        p[asymp] = kstwo_sf(d[asymp], np.round(m * n / (m + n)))
    exact_idx = np.flatnonzero(~asymp)
    pairs = {(int(n1[i]), int(n2[i])) for i in exact_idx}
    for a, b in pairs:
        idx = exact_idx[(n1[exact_idx] == a) & (n2[exact_idx] == b)]
        lcm = a * b // math.gcd(a, b)
        h = np.rint(d[idx] * lcm).astype(np.int64)
        d[idx] = h / lcm
        p[idx] = _exact_outside(a, b, h)
    return d, p


def _exact_outside(n1: int, n2: int, h: I64) -> F64:
    """P(a uniformly random path leaves |i*b - j*a| < h), with a, b = n1/g, n2/g; h = 0 means p = 1."""
    g = math.gcd(n1, n2)
    a, b = n1 // g, n2 // g
    out = np.ones(h.shape)
    live = h > 0
    if not live.any():
        return out
    hs = h[live][:, None]
    hmax = int(hs.max())
    o = np.ones((hs.shape[0], n1 + 1))
    o[:, 0] = 0.0  # the origin is inside the band
    prev_lo, prev_hi = 0, 0
    for k in range(1, n1 + n2 + 1):
        lo = max(k - n2, (k * a - hmax) // (a + b) + 1, 0)
        hi = min(k, n1, (k * a + hmax - 1) // (a + b))
        i = np.arange(lo, hi + 1)
        from_left = o[:, max(lo - 1, 0) : hi] if lo > 0 else np.hstack([np.ones((o.shape[0], 1)), o[:, :hi]])
        from_below = o[:, lo : hi + 1]
        new = from_left * (i / k) + from_below * ((k - i) / k)
        inside = np.abs(i * (a + b) - k * a)[None, :] < hs
        o[:, prev_lo : prev_hi + 1] = 1.0
        o[:, lo : hi + 1] = np.where(inside, new, 1.0)
        prev_lo, prev_hi = lo, hi
    out[live] = np.clip(o[:, n1], 0.0, 1.0)
    return out
