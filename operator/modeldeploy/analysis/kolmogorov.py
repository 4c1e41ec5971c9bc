"""The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic D_n for large n, vectorised:
what ``scipy.stats.kstwo.sf(x, n)`` returns, without its per-value Python loop and its costly branches.

scipy (after Simard and L'Ecuyer, 2011) picks a formula by region of (n, n*x^2); at n = 100,000 two of them
cost 0.1-0.4 s per value (Durbin's matrix power near x = 0, Smirnov's exact one-sided sum in the tail), which
made KS p-values the whole cost of drift analysis at scale. Here, for n >= ``FAST_MIN_N``:

- n*x^2 >= 370: 0, as scipy returns.
- 2.2 <= n*x^2: twice the one-sided Smirnov tail, Birnbaum and Tingey's exact sum, evaluated in log space
  over all terms at once (equal to ``scipy.special.smirnov`` to ~1e-9 relative). When the Dvoretzky-Kiefer-
  Wolfowitz bound 2*exp(-2*n*x^2) is below ``TAIL``, that bound is reported instead: the one-sided tail never
  exceeds exp(-2*n*x^2) (Massart, 1990), so scipy's value lies in [0, bound] and the reported p-value is
  within ``TAIL`` of it, below every alpha >= 1e-6 exactly as scipy's is.
- otherwise: 1 minus the Pelz-Good expansion of the CDF (K0 + K1/sqrt(n) + K2/n + K3/n^1.5 in Jacobi theta
  form). scipy uses it too, except for n <= 100,000 with n*x^1.5 <= 1.4, where it runs Durbin's exact matrix
  method: there the two differ by < 6e-13 from n = 10,000 (3e-8 at n = 1,000), so below 10,000 that region
  is left to scipy, where the matrix is small and cheap.

Everything else (n < ``FAST_MIN_N``, x <= 1/n, x >= 1/2 and the lattice ends) is left to scipy: it is cheap
there and rare.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special, stats

F64 = npt.NDArray[np.float64]

FAST_MIN_N = 1000
DURBIN_EXACT_BELOW = 10_000
TAIL = 1e-7  # the largest p-value reported as the DKW bound rather than computed
_ZERO_NX2 = 370.0
_SMIRNOV_NX2 = 2.2
_S2PI = math.sqrt(2 * math.pi)


def kstwo_sf(x: F64, n: F64) -> F64:
    """``scipy.stats.kstwo.sf(x, n)`` elementwise (n integral, as floats)."""
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    out = np.empty(x.shape)
    nx2 = n * x * x
    fast = (n >= FAST_MIN_N) & (n * x > 1.0) & (x < 0.5) & (n * x < n - 1)
    # Where scipy runs Durbin's exact matrix method, Pelz-Good is within 1e-12 of it only from n = 10,000;
    # below, that matrix is small and scipy's own answer is cheap.
    fast &= ~((n < DURBIN_EXACT_BELOW) & (n * x**1.5 <= 1.4) & (nx2 < _SMIRNOV_NX2))
    slow = ~fast
    if slow.any():
        out[slow] = np.clip(stats.kstwo.sf(x[slow], n[slow]), 0.0, 1.0)
    zero = fast & (nx2 >= _ZERO_NX2)
    out[zero] = 0.0
    tail = fast & (nx2 >= _SMIRNOV_NX2) & ~zero
    bound = 2.0 * np.exp(-2.0 * nx2)
    by_bound = tail & (bound < TAIL)
    out[by_bound] = bound[by_bound]
    for i in np.flatnonzero(tail & ~by_bound):
        out[i] = min(1.0, 2.0 * smirnov_tail(int(n[i]), float(x[i])))
    body = fast & (nx2 < _SMIRNOV_NX2)
    if body.any():
        out[body] = np.clip(1.0 - pelz_good_cdf(x[body], n[body]), 0.0, 1.0)
    return out


def smirnov_tail(n: int, x: float) -> float:
    """P(D_n^+ >= x) = x * sum_{j <= n(1-x)} C(n, j) (x + j/n)^(j-1) (1 - x - j/n)^(n-j)."""
    j = np.arange(0, math.floor(n * (1.0 - x)) + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):  # the last term may be 0^(n-j): log -inf, exp 0
        log_terms = (
            math.lgamma(n + 1.0)
            - special.gammaln(j + 1.0)
            - special.gammaln(n - j + 1.0)
            + (j - 1.0) * np.log(x + j / n)
            + (n - j) * np.log1p(-x - j / n)
        )
    return float(x * np.exp(log_terms).sum())


def pelz_good_cdf(x: F64, n: F64) -> F64:
    """Pelz and Good's (1976) expansion of P(D_n <= x), z = x*sqrt(n); the theta-function sums run over
    enough terms that the next one is below 1e-50 of the first."""
    z = np.sqrt(n) * x
    out = np.zeros(z.shape)
    live = -(np.pi**2) / (8.0 * z * z) >= -708.0  # below that the CDF underflows to 0, as in scipy
    if not live.any():
        return out
    z, rn = z[live][:, None], np.sqrt(n[live])[:, None]
    terms = max(1, math.ceil(16.0 * float(z.max()) / np.pi))
    k = np.arange(1, terms + 1, dtype=np.float64)[None, :]
    m2 = (2.0 * k - 1.0) ** 2  # odd squares
    pi2, pi4, pi6 = np.pi**2, np.pi**4, np.pi**6
    z2 = z * z
    z4, z6 = z2 * z2, z2 * z2 * z2
    odd = np.exp(-m2 * pi2 / (8.0 * z2))
    every = np.exp(-k * k * pi2 / (2.0 * z2))
    k0 = odd.sum(axis=1, keepdims=True) * _S2PI / z
    k1 = ((pi2 * m2 / 4.0 - z2) * odd).sum(axis=1, keepdims=True) * _S2PI / (6.0 * z4)
    c2 = 6.0 * z6 + 2.0 * z4 + (2.0 * z4 - 5.0 * z2) * pi2 / 4.0 * m2
    c2 += pi4 * (1.0 - 2.0 * z2) / 16.0 * m2 * m2
    k2 = (c2 * odd).sum(axis=1, keepdims=True) * _S2PI / (72.0 * z**7)
    k2 -= (pi2 * k * k * every).sum(axis=1, keepdims=True) * _S2PI / (36.0 * z2 * z)
    c3 = (
        -30.0 * z6
        - 90.0 * z4 * z4
        + pi2 * (135.0 * z4 - 96.0 * z6) / 4.0 * m2
        + pi4 * (212.0 * z4 - 60.0 * z2) / 16.0 * m2 * m2
        + pi6 * (5.0 - 30.0 * z2) / 64.0 * m2 * m2 * m2
    )
    k3 = (c3 * odd).sum(axis=1, keepdims=True) * _S2PI / (6480.0 * z**10)
    k3 += ((3.0 * z2 - pi2 * k * k) * k * k * every).sum(axis=1, keepdims=True) * pi2 * _S2PI / (216.0 * z6)
    cdf = k0 + k1 / rn + k2 / rn**2 + k3 / rn**3
    out[live] = cdf[:, 0]
    return out
