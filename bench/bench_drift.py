"""Drift engine throughput against a plain per-feature scipy loop and Evidently, all measured in this run.

Figures are cells per second: (reference + live rows) x features, over the whole analysis. Modes:
- the engine cold (profile the reference, then compare) and warm (the reference profile kept, as the operator
  keeps it between intervals), with its automatic tests and with KS / chi-squared on every feature;
- Evidently's DataDriftPreset, defaults and KS / chi-squared, in its own virtualenv (created by this bench
  under ~/.cache/kdap-bench, so the operator's environment never holds it), on the same data via Parquet;
- the Spark pushdown: a window 10x larger than the pod limit analysed by pyspark in local mode (both cores)
  through the operator's own submit/poll path, with rows/s and the operator process's peak RSS meanwhile.
Peak memory of the in-process modes is traced allocations (tracemalloc), the same measure in Evidently's
process. ``--quick``: 100,000 rows and no Evidently or Spark unless asked (``--evidently``, ``--spark``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats
from scipy.spatial import distance

from modeldeploy.analysis.drift import compare, profile_reference
from modeldeploy.analysis.types import DriftConfig, DriftMethod, FeatureConfig, FeatureKind

N_NUM, N_CAT = 40, 10
EVIDENTLY = "0.7.23"
CACHE = Path(os.environ.get("KDAP_BENCH_CACHE", Path.home() / ".cache" / "kdap-bench"))


def make(rows: int, seed: int, shift: float) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"n{i}": rng.normal(shift * (i % 3), 1.0, rows) for i in range(N_NUM)}
    cats = np.array([f"c{j}" for j in range(12)])
    for i in range(N_CAT):
        cols[f"c{i}"] = cats[rng.integers(0, 12 - (i % 2), rows)]
    return cols


def scipy_loop(ref: dict[str, Any], live: dict[str, Any]) -> int:
    """What a straightforward tool does: each feature alone, each statistic its own scipy call."""
    drifted = 0
    for i in range(N_NUM):
        r, lv = ref[f"n{i}"], live[f"n{i}"]
        ks = stats.ks_2samp(r, lv)
        w = stats.wasserstein_distance(r, lv) / max(np.std(r), 1e-3)
        edges = np.quantile(r, np.linspace(0, 1, 11))
        edges[0], edges[-1] = -np.inf, np.inf
        hr, hl = np.histogram(r, edges)[0], np.histogram(lv, edges)[0]
        js = distance.jensenshannon(hr, hl, base=2)
        pr, pl = np.maximum(hr / hr.sum(), 1e-4), np.maximum(hl / hl.sum(), 1e-4)
        psi = float(((pl - pr) * np.log(pl / pr)).sum())
        drifted += (ks.pvalue < 0.05) + (w >= 0.1) + (js >= 0.1) + (psi >= 0.1)
    for i in range(N_CAT):
        r, lv = ref[f"c{i}"], live[f"c{i}"]
        cats = np.union1d(r, lv)
        hr = np.array([np.count_nonzero(r == c) for c in cats])
        hl = np.array([np.count_nonzero(lv == c) for c in cats])
        drifted += stats.chi2_contingency(np.stack([hr, hl]) + 0).pvalue < 0.05
        drifted += distance.jensenshannon(hr, hl, base=2) >= 0.1
    return int(drifted)


def measure(fn: Callable[[], object], repeat: int = 1) -> tuple[float, float]:
    """Best seconds of ``repeat`` untraced runs, then the peak of one more under tracemalloc (tracing slows
    the allocations it records, so it must not be in the timing)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 2**20


def as_loaded(cols: dict[str, Any]) -> dict[str, Any]:
    """What the operator's sources hand the engine: numbers as float64, everything else as Arrow (a Parquet
    or JSON-lines read never makes numpy string arrays). The scipy loop keeps numpy, its own natural input."""
    return {k: pa.array(v) if v.dtype.kind == "U" else v for k, v in cols.items()}


def ks_chi2(names: list[str]) -> DriftConfig:
    """KS on every numerical feature, chi-squared on every categorical one (seed 000's tests)."""
    return DriftConfig(
        features=tuple(
            FeatureConfig(n, FeatureKind.NUMERICAL, DriftMethod.KS)
            if n.startswith("n")
            else FeatureConfig(n, FeatureKind.CATEGORICAL, DriftMethod.CHI_SQUARED)
            for n in names
        )
    )


# ---- Evidently, in its own virtualenv -------------------------------------------------------------------

EVIDENTLY_RUN = """
import json, sys, time, tracemalloc
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
preset = (lambda: DataDriftPreset()) if sys.argv[3] == "default" else (
    lambda: DataDriftPreset(num_method="ks", cat_method="chisquare"))
Report([preset()]).run(cur.head(1000), ref.head(1000))  # imports and first-call costs out of the timing
t0 = time.perf_counter(); Report([preset()]).run(cur, ref); seconds = time.perf_counter() - t0
tracemalloc.start(); Report([preset()]).run(cur, ref); peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"seconds": seconds, "peak_mib": peak / 2**20}))
"""


def evidently_python() -> Path:
    venv = CACHE / f"evidently-{EVIDENTLY}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        # Evidently 0.7.23 imports a pandas helper that pandas 3 removed.
        pip = [str(python), "-m", "pip", "install", "-q", f"evidently=={EVIDENTLY}", "pandas<3", "pyarrow"]
        subprocess.run(pip, check=True)
        (venv / ".complete").touch()
    return python


def run_evidently(python: Path, ref: Path, live: Path, mode: str) -> tuple[float, float]:
    done = subprocess.run(
        [str(python), "-c", EVIDENTLY_RUN, str(ref), str(live), mode],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"Evidently ({mode}) failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return float(out["seconds"]), float(out["peak_mib"])


# ---- Spark pushdown, through the operator's own path -------------------------------------------------------


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def spark_pushdown(rows: int, folder: Path) -> dict[str, float]:
    """Reference and live windows of ten files of ``rows`` rows each; the pod limit is the size of one file,
    so each window is 10x the limit and the operator must push the analysis down."""
    from modeldeploy.analysis.pushdown import LocalSpark, Pushdown
    from modeldeploy.analysis.run import DriftAnalyzer, Sources
    from modeldeploy.analysis.sources import FileSource
    from modeldeploy.analysis.types import AnalysisConfig
    from modeldeploy.ports import AnalysisPending

    big = 10 * rows
    for name, seed, shift in (("ref", 11, 0.0), ("live", 12, 0.05)):
        for part in range(10):  # ten files, as a data lake folder holds them
            pq.write_table(pa.table(make(rows, seed * 100 + part, shift)), folder / f"{name}-{part}.parquet")
    limit = sum(f.stat().st_size for f in folder.glob("live-*.parquet")) // 10
    names = list(make(1, 0, 0.0))
    glob_ref, glob_live = str(folder / "ref-*.parquet"), str(folder / "live-*.parquet")
    sources = Sources(FileSource(glob_ref, "parquet"), FileSource(glob_live, "parquet"))
    analyzer = DriftAnalyzer(
        sources, Pushdown(LocalSpark(str(folder / "jobs"), cores=2, driver_memory="2g"), limit)
    )
    config = AnalysisConfig(drift=ks_chi2(names))
    before = _rss_mib()  # this process already holds the in-process modes' data: the growth is the job's
    peak, stop = [before], threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], _rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    while True:
        try:
            result = analyzer.run(config, now)
            break
        except AnalysisPending:
            time.sleep(0.2)
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    return {
        "rows": 2 * big,
        "seconds": seconds,
        "limit_mib": limit / 2**20,
        "peak_rss_mib": peak[0],
        "rss_before_mib": before,
        "features": len(result.features),
        "drifted": len(result.drifted_features),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="100,000 rows; Evidently and Spark only if asked"
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows per window (default 200,000)")
    parser.add_argument("--evidently", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--spark", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument(
        "--spark-pod-rows",
        type=int,
        default=20_000,
        help="rows the pod limit holds in the Spark run; its windows are 10x that (default 20,000: "
        "windows of the in-process size, 200,000 rows)",
    )
    args = parser.parse_args()
    rows = 100_000 if args.quick else args.rows
    with_evidently = args.evidently if args.evidently is not None else not args.quick
    with_spark = args.spark if args.spark is not None else not args.quick
    ref_np, live_np = make(rows, 1, 0.0), make(rows, 2, 0.05)
    ref, live = as_loaded(ref_np), as_loaded(live_np)
    cfg, ks_cfg = DriftConfig(), ks_chi2(list(ref))
    cells = 2 * rows * (N_NUM + N_CAT)
    figures: dict[str, tuple[float, float]] = {}
    figures["scipy per-feature loop"] = measure(lambda: scipy_loop(ref_np, live_np))
    figures["engine, cold"] = measure(lambda: compare(profile_reference(cfg, ref), live))
    profile = profile_reference(cfg, ref)
    figures["engine, warm reference"] = measure(lambda: compare(profile, live), repeat=3)
    figures["engine KS/chi2, cold"] = measure(lambda: compare(profile_reference(ks_cfg, ref), live))
    ks_profile = profile_reference(ks_cfg, ref)
    figures["engine KS/chi2, warm"] = measure(lambda: compare(ks_profile, live), repeat=3)
    spark: dict[str, float] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        folder = Path(tmp)
        if with_evidently:
            pq.write_table(pa.table(ref_np), folder / "ref.parquet")
            pq.write_table(pa.table(live_np), folder / "live.parquet")
            python = evidently_python()
            for mode, label in (("default", "Evidently DataDriftPreset"), ("ks", "Evidently KS/chi2 preset")):
                figures[label] = run_evidently(python, folder / "ref.parquet", folder / "live.parquet", mode)
        if with_spark:
            (folder / "lake").mkdir()
            spark = spark_pushdown(args.spark_pod_rows, folder / "lake")
    print(
        f"drift: {rows:,} rows x {N_NUM + N_CAT} features ({N_NUM} numerical, {N_CAT} categorical), "
        f"reference and live: {cells:,} cells; {os.cpu_count()} cores (shared: compare ratios, not rates)"
    )
    for label, (seconds, peak) in figures.items():
        print(f"  {label:<26}: {cells / seconds:14,.0f} cells/s  peak {peak:8.0f} MiB")
    kept = sum(b.nbytes for b in profile.numerical.blocks) / 2**20
    print(f"  of the cold peak, the kept reference profile (sorted numerical columns): {kept:.0f} MiB")
    base = figures["scipy per-feature loop"][0]
    warm, ks_warm = figures["engine, warm reference"][0], figures["engine KS/chi2, warm"][0]
    print(
        f"  speed-up vs scipy: cold {base / figures['engine, cold'][0]:.2f}x, warm {base / warm:.2f}x, "
        f"KS/chi2 warm {base / ks_warm:.2f}x"
    )
    if "Evidently DataDriftPreset" in figures:
        evi, evi_ks = figures["Evidently DataDriftPreset"][0], figures["Evidently KS/chi2 preset"][0]
        print(
            f"  vs Evidently {EVIDENTLY}: automatic tests warm {evi / warm:.1f}x, "
            f"KS/chi2 warm {evi_ks / ks_warm:.1f}x"
        )
    else:
        print("  Evidently: not run (--quick or --no-evidently; --evidently runs it)")
    if spark is not None:
        n, sec = spark["rows"], spark["seconds"]
        print(
            f"  spark pushdown (local[2]): {n:,.0f} rows (10x the {spark['limit_mib']:.0f} MiB pod limit "
            f"per window) in {sec:.1f} s: {n / sec:,.0f} rows/s, {n * (N_NUM + N_CAT) / sec:,.0f} cells/s; "
            f"operator RSS {spark['rss_before_mib']:.0f} MiB before, peak {spark['peak_rss_mib']:.0f} MiB "
            f"(+{spark['peak_rss_mib'] - spark['rss_before_mib']:.0f}); "
            f"{spark['drifted']:.0f} of {spark['features']:.0f} features drifted"
        )
    else:
        print("  spark pushdown: not run (--quick or --no-spark; --spark runs it)")


if __name__ == "__main__":
    main()
