"""Distances between binned distributions (rows are features, columns bins; counts need not be normalised).

Jensen-Shannon is scipy's ``jensenshannon(p, q, base=2)`` (a distance in [0, 1]); PSI replaces empty bins by
``PSI_FLOOR`` as Evidently does, so one empty bin cannot make it infinite.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special

F64 = npt.NDArray[np.float64]
PSI_FLOOR = 1e-4


def _proportions(counts: F64) -> F64:
    total = counts.sum(axis=-1, keepdims=True)
    return np.asarray(counts / np.where(total > 0, total, 1.0), dtype=np.float64)


def jensen_shannon(p_counts: F64, q_counts: F64) -> F64:
    p, q = _proportions(p_counts), _proportions(q_counts)
    m = (p + q) / 2.0
    js = (special.rel_entr(p, m).sum(axis=-1) + special.rel_entr(q, m).sum(axis=-1)) / np.log(2.0)
    return np.asarray(np.sqrt(np.maximum(js, 0.0) / 2.0), dtype=np.float64)


def psi(ref_counts: F64, live_counts: F64) -> F64:
    r = np.maximum(_proportions(ref_counts), PSI_FLOOR)
    lv = np.maximum(_proportions(live_counts), PSI_FLOOR)
    return np.asarray(((lv - r) * np.log(lv / r)).sum(axis=-1), dtype=np.float64)
