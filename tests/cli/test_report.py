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
