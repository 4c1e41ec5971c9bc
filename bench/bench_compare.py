"""Sequential comparison: false promotions under repeated looks, and power, by seeded simulation.

A 90/10 canary on error rate: stable fails 1 % of requests; each analysis interval brings 1,500 candidate
and 13,500 stable requests; the rule is non-inferiority with a margin of 0.5 percentage points. Under the
null the candidate sits exactly on the margin (1.5 %, the hardest case to refuse); under the alternative it
is as good as stable (1.0 %). Each look judges the cumulative counts since the step began and the step ends
at the first Pass or Fail (the operator's behaviour). ``sequential`` is the operator's always-valid rule
(``modeldeploy.analysis.comparison.sequential``); ``naive`` runs a fixed-horizon one-sided z test at alpha
at every look, what a threshold on a p-value checked every interval does. Printed: looks x alpha x observed
false-promotion rate x power, with the Monte-Carlo slack (3 standard errors at alpha) beside it.
``--quick`` runs 1,000 repetitions instead of 5,000.
"""

from __future__ import annotations

import argparse
import math
from statistics import NormalDist

import numpy as np

from modeldeploy.analysis.comparison.sequential import Decision, Rule, judge
from modeldeploy.analysis.comparison.stats import two_proportions

P_STABLE, MARGIN = 0.01, 0.005
N_CANDIDATE, N_STABLE = 1_500, 13_500
LOOKS = (1, 5, 20)
ALPHAS = (0.05, 0.10)


def _naive(failures_c: int, n_c: int, failures_s: int, n_s: int, alpha: float) -> Decision:
    e = two_proportions(failures_c, n_c, failures_s, n_s)
    z = NormalDist().inv_cdf(1 - alpha)
    if e.effect + z * math.sqrt(e.variance) < MARGIN:
        return Decision.PASS
    if e.effect - z * math.sqrt(e.variance) > MARGIN:
        return Decision.FAIL
    return Decision.CONTINUE


def promoted(p_candidate: float, looks: int, alpha: float, reps: int, seed: int) -> tuple[float, float]:
    """Share of repetitions promoted (first decisive look is Pass) by the sequential and the naive rule."""
    rng = np.random.default_rng(seed)
    fc = np.cumsum(rng.binomial(N_CANDIDATE, p_candidate, (reps, looks)), axis=1)
    fs = np.cumsum(rng.binomial(N_STABLE, P_STABLE, (reps, looks)), axis=1)
    rule = Rule(margin=MARGIN, alpha=alpha, min_samples=N_CANDIDATE)
    seq = naive = 0
    for r in range(reps):
        seq_done = naive_done = False
        for k in range(looks):
            n_c, n_s = N_CANDIDATE * (k + 1), N_STABLE * (k + 1)
            if not seq_done:
                d = judge(two_proportions(int(fc[r, k]), n_c, int(fs[r, k]), n_s), rule).decision
                seq_done = d in (Decision.PASS, Decision.FAIL)
                seq += d is Decision.PASS
            if not naive_done:
                d = _naive(int(fc[r, k]), n_c, int(fs[r, k]), n_s, alpha)
                naive_done = d in (Decision.PASS, Decision.FAIL)
                naive += d is Decision.PASS
            if seq_done and naive_done:
                break
    return seq / reps, naive / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 repetitions instead of 5,000")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    reps = 1_000 if args.quick else 5_000
    print(
        f"error rate, non-inferiority margin {MARGIN:.1%}: stable {P_STABLE:.1%}; null candidate "
        f"{P_STABLE + MARGIN:.1%}, alternative {P_STABLE:.1%}; {N_CANDIDATE:,} candidate and "
        f"{N_STABLE:,} stable requests per look; {reps:,} repetitions, seed {args.seed}"
    )
    print(f"{'looks':>5} {'alpha':>6} {'method':<10} {'false-promotion':>15} {'slack':>7} {'power':>6}")
    for i, looks in enumerate(LOOKS):
        for j, alpha in enumerate(ALPHAS):
            seed = args.seed * 1000 + i * 10 + j
            fp_seq, fp_naive = promoted(P_STABLE + MARGIN, looks, alpha, reps, seed)
            pw_seq, pw_naive = promoted(P_STABLE, looks, alpha, reps, seed + 500)
            slack = 3 * math.sqrt(alpha * (1 - alpha) / reps)
            for name, fp, pw in (("sequential", fp_seq, pw_seq), ("naive", fp_naive, pw_naive)):
                print(f"{looks:>5} {alpha:>6.2f} {name:<10} {fp:>15.4f} {slack:>7.4f} {pw:>6.3f}")


if __name__ == "__main__":
    main()
