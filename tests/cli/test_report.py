"""The HTML report offline: histograms computed right, drifting features plotted from file sources."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from modeldeploy.report import write_report
from modeldeploy.report.svg import categorical_histogram, numeric_histogram
from tests.cli.bodies import canary_at_step_two

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_numeric_histogram_shares_sum_to_one_and_show_the_shift() -> None:
    rng = np.random.default_rng(1)
    ref, live = rng.normal(0, 1, 5000), rng.normal(2, 1, 5000)
    h = numeric_histogram(ref, live, bins=20)
    assert abs(sum(h.reference) - 1) < 1e-9
    assert abs(sum(h.live) - 1) < 1e-9
    assert h.numeric_edges is not None
    centres = np.array(h.numeric_edges[:-1]) + np.diff(h.numeric_edges) / 2
    assert 1.5 < float(np.dot(centres, h.live) - np.dot(centres, h.reference)) < 2.5


def test_categorical_histogram_pools_the_tail_into_other() -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 10 + ["d"] * 10
    live = ["a"] * 10 + ["b"] * 10 + ["e"] * 80
    h = categorical_histogram(ref, live, top=3)
    assert h.labels == ["e", "a", "b", "other"]
    assert h.reference == [0.0, 0.5, 0.3, 0.2]
    assert h.live == [0.8, 0.1, 0.1, 0.0]


def _write_data(tmp: Path) -> tuple[str, str]:
    rng = np.random.default_rng(7)
    ref, live = tmp / "ref.csv", tmp / "live.csv"
    ref.write_text(
        "age,channel\n"
        + "".join(
            f"{a:.3f},{c}\n"
            for a, c in zip(rng.normal(40, 5, 800), rng.choice(["web", "app"], 800), strict=True)
        )
    )
    live.write_text(
        "age,channel\n"
        + "".join(
            f"{a:.3f},{c}\n"
            for a, c in zip(rng.normal(55, 5, 800), rng.choice(["web", "store"], 800), strict=True)
        )
    )
    return f"file://{ref}", f"file://{live}"


def test_report_plots_each_drifting_feature_and_the_timeline(tmp_path: Path) -> None:
    ref_uri, live_uri = _write_data(tmp_path)
    out = write_report([canary_at_step_two(ref_uri, live_uri)], tmp_path / "out" / "report.html")
    html = out.read_text()
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    for svg in svgs:
        ElementTree.fromstring(svg)  # every plot is well-formed SVG
    titles = [re.search(r'aria-label="([^"]+)"', s).group(1) for s in svgs]  # type: ignore[union-attr]
    assert titles == ["timeline", "age: reference vs live", "channel: reference vs live"]
    assert "income: reference vs live" not in html  # not drifting, so not plotted
    age_svg = svgs[1]
    live_bars = re.findall(r"<title>live [^:]+: ([0-9.]+)%</title>", age_svg)
    assert abs(sum(float(v) for v in live_bars) - 100) < 1.0
    channel = svgs[2]
    assert "<title>live store:" in channel
    assert "<title>reference app:" in channel
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert html.count('class="bad">drift<') == 2
    # per feature: the test, why it was chosen, and which engine ran it (in-process unless the status says)
    assert "<td>age</td><td>ks</td><td>set in the spec</td><td>spark: the live window is 3.2 GiB" in html
    assert "<td>income</td><td>psi</td><td></td><td>in-process</td>" in html
    assert "+3480s Progressing: CanaryStarted (step 1: 10%)" in svgs[0]


def test_report_names_unreadable_sources_instead_of_plotting(tmp_path: Path) -> None:
    body = canary_at_step_two("azureml://datastores/training/paths/x.parquet", "file:///nowhere/live.csv")
    html = write_report([body], tmp_path / "r.html").read_text()
    assert (
        "Distributions not plotted: reference data at azureml://datastores/training/paths/x.parquet "
        "is not a file:/// source" in html
    )
    body = canary_at_step_two("file:///nowhere/ref.csv", "file:///nowhere/live.csv")
    html = write_report([body], tmp_path / "r.html").read_text()
    assert "Distributions not plotted: no data files at /nowhere/ref.csv" in html


def test_report_lists_the_versions_with_stage_and_validation_like_history(tmp_path: Path) -> None:
    body = canary_at_step_two("file:///nowhere/ref.csv", "file:///nowhere/live.csv")
    status = body["status"]
    status["stable"] |= {"modelVersion": "1.4.0", "promotedAt": "2025-03-01T10:00:00Z"}
    status["candidate"] |= {
        "modelVersion": "1.5.0",
        "validation": {
            "verdict": "Successful",
            "message": "evaluation-rmse: rmse 0.31 on 1000 rows (stable 0.33)",
        },
    }
    status["stages"] = {"production": {"revision": status["stable"]["name"], "ref": "azureml:budget:14"}}
    status["failedRevisions"] = [
        {"name": "budget-bad1", "modelVersion": "1.4.1", "reason": "ValidationFailed",
         "message": "rmse 0.9 above the maximum 0.5", "failedAt": "2025-03-01T09:00:00Z"}
    ]  # fmt: skip
    html = write_report([body], tmp_path / "r.html").read_text()
    section = html.split("<h3>Versions</h3>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    cells = [re.findall(r"<td>(.*?)</td>", r) for r in rows[1:]]
    assert [c[:3] for c in cells] == [
        [status["stable"]["name"], "1.4.0", "production [registry azureml:budget:14]"],
        [status["candidate"]["name"], "1.5.0", "staging"],
        ["budget-bad1", "1.4.1", "failed (ValidationFailed)"],
    ]
    assert cells[1][4] == "Successful: evaluation-rmse: rmse 0.31 on 1000 rows (stable 0.33)"
    assert cells[2][4] == "Failed: rmse 0.9 above the maximum 0.5"


def test_report_shows_candidate_against_stable_with_its_interval(tmp_path: Path) -> None:
    body = canary_at_step_two("file:///nowhere/ref.csv", "file:///nowhere/live.csv")
    comparison = {
        "test": "proportion", "stable": 0.005, "candidate": 0.009, "stableSamples": 100000,
        "candidateSamples": 100000, "effect": 0.004, "lower": 0.0031, "upper": 0.0049,
        "hypothesis": "nonInferiority", "margin": 0.002, "alpha": 0.05, "decision": "Fail",
    }  # fmt: skip
    body["status"]["lastAnalysis"]["metrics"] = [
        {"name": "error-rate", "value": 0.009, "verdict": "Failed", "comparison": comparison},
        {"name": "latency-p99", "value": 180.0, "verdict": "Successful"},  # thresholds only: no plot row
    ]
    html = write_report([body], tmp_path / "r.html").read_text()
    row = re.search(r"<tr><td>error-rate</td>(.*?)</tr>", html)
    assert row is not None
    assert re.findall(r"<td>(.*?)</td>", row.group(1))[:4] == [
        "0.009", "0.005", "0.009", "0.004 [0.0031, 0.0049] Fail"
    ]  # fmt: skip
    plot = re.search(r'<svg [^>]*aria-label="candidate against stable".*?</svg>', html, flags=re.S)
    assert plot is not None
    ElementTree.fromstring(plot.group(0))
    assert plot.group(0).count("<circle") == 1  # one compared metric
    assert "error-rate: effect 0.004 in [0.0031, 0.0049], stable 0.005, candidate 0.009, Fail" in plot.group(
        0
    )
    assert plot.group(0).count('stroke-dasharray="3,2"') == 2  # the margin on both sides
