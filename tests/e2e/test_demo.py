"""`python -m kdap_demo` (what `make demo` runs) as a user runs it: a subprocess.

The demo starts its own localkube on free loopback ports, so it runs beside the session's control plane.
It runs with ``TMPDIR`` and ``KDAP_DEMO_OUT`` inside this test's tmp dir: every process it starts inherits
that environment (and most name the dir on their command line), so a process left behind is found in /proc.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.cluster

DRIFTED = {"tenure_months", "monthly_charges", "support_calls", "plan"}  # every churn feature drifts
RUN_BOUND = 420.0  # a hung demo fails the test instead of the whole session; not a performance check


def start_demo(tmp_path: Path, spark: bool = False) -> tuple[subprocess.Popen[str], Path, Path]:
    """``spark``: as ``make demo SPARK=1``, the churn predictor's drift on local Spark."""
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "KDAP_DEMO_OUT": str(out), "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
    env["KDAP_DEMO_SPARK"] = "1" if spark else "0"
    env.pop("KUBECONFIG", None)  # the demo starts its own control plane and must not need the session's
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdap_demo"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    return proc, out, log


def finish(proc: subprocess.Popen[str], log: Path) -> int:
    try:
        return proc.wait(timeout=RUN_BOUND)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # its own teardown, so the rest of the session is not disturbed
        proc.wait(timeout=60)
        raise AssertionError(
            f"the demo did not finish within {RUN_BOUND:g}s; its output:\n{tail(log)}"
        ) from None


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:]


def processes_mentioning(marker: Path) -> list[str]:
    """Live processes whose command line or environment names ``marker`` (zombies have neither)."""
    needle = str(marker).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in cmdline or needle in environ:
            command = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
            found.append(f"{entry.name}: {command}")
    return found


def assert_nothing_left(tmp_path: Path, log: Path) -> None:
    left = processes_mentioning(tmp_path)
    assert not left, (
        "the demo left processes behind (its teardown in run()'s finally missed them):\n"
        + "\n".join(left)
        + f"\n--- demo output ---\n{tail(log)}"
    )
    work = sorted(p.name for p in (tmp_path / "tmp").glob("kdap-demo-*"))
    assert not work, f"the demo's work dir was not removed: {work}; run() must rmtree it in finally"


def test_demo_promotes_one_model_rolls_back_the_drifting_one_and_leaves_nothing(tmp_path: Path) -> None:
    """With SPARK=1, so the Spark pushdown's child processes are in the leftover check too."""
    proc, out, log = start_demo(tmp_path, spark=True)
    code = finish(proc, log)
    assert code == 0, f"the demo exited {code}; its output:\n{tail(log)}"

    summary_file = out / "summary.json"
    assert summary_file.is_file(), f"the demo wrote no {summary_file}; its output:\n{tail(log)}"
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    assert summary["phases"] == {"fraud-scorer": "Promoted", "churn-predictor": "RolledBack"}, summary
    assert summary["ok"] is True, summary
    assert summary["processesLeft"] == [], summary
    assert set(summary["drifting"]["churn-predictor"]) == DRIFTED, summary["drifting"]
    assert summary["drifting"]["fraud-scorer"] == [], summary["drifting"]
    # the churn predictor's 1.3 MiB live window is over the demo's 1 MiB pushdown limit: local Spark ran it
    assert summary["driftEngines"] == {
        "fraud-scorer": ["in-process: each window is within the 1.0 MiB pod limit"],
        "churn-predictor": ["spark: the live window is 1.3 MiB, over the 1.0 MiB pod limit"],
    }, summary["driftEngines"]

    printed = log.read_text()
    assert "no process left behind" in printed, tail(log)
    assert "drift engine, churn-predictor: spark: the live window is 1.3 MiB" in printed, tail(log)

    report = out / "report.html"
    assert summary["report"] == str(report), (summary["report"], report)
    assert report.is_file(), f"the summary names {report} but it does not exist"
    html = report.read_text()
    for feature in DRIFTED:
        assert f"{feature}: reference vs live" in html, f"report.html has no histogram of drifting {feature}"
    assert "amount: reference vs live" not in html, (
        "report.html plots a fraud-scorer feature that did not drift"
    )

    assert_nothing_left(tmp_path, log)


def test_sigterm_mid_demo_tears_everything_down(tmp_path: Path) -> None:
    proc, out, log = start_demo(tmp_path)
    mid = "1/2  first release of each model"  # control plane, operator, Prometheus and rollouts all up
    end = time.monotonic() + RUN_BOUND
    while mid not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > end:
            finish(proc, log)
            raise AssertionError(f"the demo never reached {mid!r} (exit {proc.returncode}):\n{tail(log)}")
        time.sleep(0.2)
    assert processes_mentioning(tmp_path), (
        "found no demo process mid-demo: the /proc scan would prove nothing"
    )

    proc.send_signal(signal.SIGTERM)
    code = finish(proc, log)
    assert code == 128 + signal.SIGTERM, (
        f"the demo exited {code} on SIGTERM, not {128 + signal.SIGTERM}; its output:\n{tail(log)}"
    )
    assert "Traceback" not in log.read_text(), f"SIGTERM should end the demo quietly:\n{tail(log)}"
    assert not (out / "summary.json").exists(), (
        "an interrupted demo must not leave a summary claiming a result"
    )
    assert_nothing_left(tmp_path, log)


def test_sigterm_while_a_spark_job_runs_ends_the_job_too(tmp_path: Path) -> None:
    """Local Spark jobs run in their own sessions (their JVMs must not share the operator's signals), so the
    operator cancels them when it stops; nothing may outlive the demo."""
    proc, _, log = start_demo(tmp_path, spark=True)
    end = time.monotonic() + RUN_BOUND
    while not _running_spark_job(tmp_path):  # its child started: submitted, not finished
        if proc.poll() is not None or time.monotonic() > end:
            finish(proc, log)
            raise AssertionError(f"no Spark job ran (exit {proc.returncode}):\n{tail(log)}")
        time.sleep(0.2)

    proc.send_signal(signal.SIGTERM)
    code = finish(proc, log)
    assert code == 128 + signal.SIGTERM, f"the demo exited {code}; its output:\n{tail(log)}"
    assert_nothing_left(tmp_path, log)


def _running_spark_job(tmp_path: Path) -> bool:
    """A process runs the drift job's entry file for one of the demo's job folders."""
    jobs = [j.name for j in (tmp_path / "tmp").glob("kdap-demo-*/spark/drift-*")]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "spark_job.py" in cmdline and any(job in cmdline for job in jobs):
            return True
    return False
