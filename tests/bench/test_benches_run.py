"""The benchmarks still run and report every figure (their numbers go into notes, so a bench that rots
unnoticed is a defect). Only the shape of the report is checked: speed is measured by the benches, never
asserted by tests."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(script: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_the_drift_bench_reports_throughput_memory_and_ratios() -> None:
    out = _run("bench_drift.py")
    assert "100,000 rows x 50 features" in out
    labels = ("scipy per-feature loop", "engine, cold", "engine, warm reference", "engine KS/chi2, warm")
    for label in labels:
        m = re.search(rf"{re.escape(label)}\s*:\s*([\d,]+) cells/s\s+peak\s+(\d+) MiB", out)
        assert m, f"no {label!r} line in:\n{out}"
        assert int(m[1].replace(",", "")) > 0
        assert int(m[2]) > 0
    assert re.search(r"speed-up vs scipy: cold [\d.]+x, warm [\d.]+x, KS/chi2 warm [\d.]+x", out), out
    # --quick leaves out the two runs that need a virtualenv or a JVM, and says so
    assert "Evidently: not run (--quick" in out
    assert "spark pushdown: not run (--quick" in out


@pytest.mark.cluster
def test_the_rollout_bench_promotes_and_reports() -> None:
    out = _run("bench_rollout.py")
    assert re.search(r"apply-to-promoted, 4-step zero-pause canary: best [\d.]+s of 1", out), out
    assert re.search(r"baseline, plain Deployment image update: best [\d.]+s; ratio [\d.]+x", out), out
    assert re.search(r"operator CPU per reconcile: [\d.]+ ms", out), out


@pytest.mark.cluster
@pytest.mark.timeout(1300)
def test_the_scale_bench_runs_both_systems_and_reports_every_figure() -> None:
    out = _run("bench_scale.py", timeout=1200)
    assert "== N = 20" in out, out
    for label in (
        "create: apply->Promoted p99 (s)",
        "update: apply->Promoted p99 (s)",
        "delete: all gone (s)",
        "peak RSS (MB)",
        "API requests per object",
    ):
        m = re.search(rf"{re.escape(label)}\s+([\d.]+)\s+([\d.]+)", out)
        assert m, f"no {label!r} row for both systems in:\n{out}"
        assert float(m[1]) > 0
        assert float(m[2]) > 0
    assert re.search(r"CPU per reconcile: [\d.]+ ms", out), out
    assert re.search(r"RSS idle: \d+ MB with 0 objects, \d+ MB with 20", out), out
    assert re.search(
        r"reaction, breach -> 0 % traffic, 3 breaches .* p50 [\d.]+s, p99 [\d.]+s.* operator RSS peak \d+ MB",
        out,
    ), out


def test_the_comparison_simulation_keeps_false_promotions_at_alpha_under_repeated_looks() -> None:
    """The sequential rule's false-promotion rate stays within alpha (plus Monte-Carlo slack) at every
    number of looks, while the naive repeated test exceeds it: the check can fail."""
    out = _run("bench_compare.py", timeout=300)
    assert "1,000 repetitions, seed 18" in out, out
    rows = re.findall(
        r"^\s*(\d+)\s+([\d.]+)\s+(sequential|naive)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out, re.M
    )
    assert len(rows) == 12, out
    table = {(int(k), float(a), m): (float(fp), float(s), float(pw)) for k, a, m, fp, s, pw in rows}
    for (looks, alpha, method), (fp, slack, _power) in table.items():
        if method == "sequential":
            assert fp <= alpha + slack, f"{looks} looks at alpha {alpha}: {fp} false promotions\n{out}"
    for alpha in (0.05, 0.10):
        fp, slack, _ = table[(20, alpha, "naive")]
        assert fp > alpha + slack, f"naive testing at 20 looks should inflate false promotions\n{out}"
        assert table[(20, alpha, "sequential")][2] >= 0.8, f"power at 20 looks too low\n{out}"
