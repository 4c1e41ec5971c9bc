"""MLTable and data-collector windows over the pushdown limit go to Spark as the files the in-process reader
would read, with how to read them; what Spark cannot read as the operator does stays in-process and says
why. The jobs here are in memory (tests/analysis/test_pushdown.py's); the real local Spark run on the same
kinds of windows is tests/analysis/test_spark_local.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from modeldeploy.analysis.pushdown import JobState, JobStatus, Pushdown
from modeldeploy.analysis.run import DriftAnalyzer, Sources
from modeldeploy.analysis.types import AnalysisConfig, Verdict
from modeldeploy.analysis.uris import Locator, source_for
from modeldeploy.analysis.window_files import window_files
from modeldeploy.ports import AnalysisPending
from tests.analysis.test_pushdown import CONFIG, Jobs

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
LOCAL = Locator(data_root="/")
COLLECTOR = "modelDataCollector/ep/blue/model_inputs"
MLTABLE = """
type: mltable
paths:
  - pattern: ./data/*.csv
  - file: ./extra/more.csv
transformations:
  - read_delimited:
      delimiter: ";"
      header: all_files_same_headers
  - keep_columns: [x, c]
"""


def _csv(rows: int, offset: float) -> str:
    return "x;c;note\n" + "".join(f"{offset + i * 0.1};{'ab'[i % 2]};n\n" for i in range(rows))


def _envelope(time: str, x: float, c: str) -> str:
    return json.dumps({"specversion": "1.0", "time": time, "data": [{"x": x, "c": c}]})


@pytest.fixture
def windows(tmp_path: Path) -> tuple[Path, Path]:
    """An MLTable reference (a pattern and a file) and a collector folder with hours 10, 11 and 12."""
    table = tmp_path / "ref"
    (table / "data").mkdir(parents=True)
    (table / "extra").mkdir()
    (table / "MLTable").write_text(MLTABLE)
    (table / "data" / "a.csv").write_text(_csv(300, 0.0))
    (table / "data" / "b.csv").write_text(_csv(300, 1.0))
    (table / "data" / "notes.txt").write_text("not data")
    (table / "extra" / "more.csv").write_text(_csv(300, 2.0))
    folder = tmp_path / COLLECTOR
    for hour in (10, 11, 12):
        (folder / f"2025/03/01/{hour:02d}").mkdir(parents=True)
        lines = [_envelope(f"2025-03-01T{hour:02d}:{m:02d}:00Z", m / 10, "ab"[m % 2]) for m in range(60)]
        (folder / f"2025/03/01/{hour:02d}/part-0.jsonl").write_text("\n".join(lines) + "\n")
    return table, folder


def _sources(table: Path, folder: Path, text: str | None = None) -> Sources:
    if text is not None:
        (table / "MLTable").write_text(text)
    return Sources(
        source_for(f"file://{table}", "mltable", locator=LOCAL),
        source_for(f"file://{folder}", "jsonl", live=True, locator=LOCAL),
        HOUR,
    )


def test_an_mltable_reference_and_a_collector_window_are_pushed_down_as_their_files(
    windows: tuple[Path, Path],
) -> None:
    table, folder = windows
    jobs = Jobs()
    analyzer = DriftAnalyzer(_sources(table, folder), Pushdown(jobs, 1000))
    with pytest.raises(AnalysisPending, match="over the 1000 B pod limit"):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    (request,) = jobs.requests
    assert request["reference"] == [f"{table}/data/a.csv", f"{table}/data/b.csv", f"{table}/extra/more.csv"]
    assert request["reference_format"] == "csv"
    assert request["reference_options"] == {
        "delimiter": ";",
        "header": True,
        "multi_line": False,
        "steps": [["keep_columns", ["x", "c"]]],
    }
    # 11:30 to 12:30 touches hours 11 and 12 only; the job keeps the envelopes timed inside it
    assert request["live"] == [f"{folder}/2025/03/01/{h}/part-0.jsonl" for h in ("11", "12")]
    assert request["live_format"] == "jsonl"
    options = request["live_options"]
    assert (options["envelopes"], options["start"], options["end"]) == (
        True,
        "2025-03-01T11:30:00+00:00",
        "2025-03-01T12:30:00+00:00",
    )
    assert options["if_empty"].startswith(f"data collector {folder} from 2025-03-01T11:30 to ")
    assert options["if_empty"].endswith(": 2 file(s), but no request timed inside the window")


def test_the_window_sizes_are_the_files_the_in_process_reader_would_read(windows: tuple[Path, Path]) -> None:
    table, folder = windows
    sources = _sources(table, folder)
    ref = window_files(sources.reference, False, NOW - HOUR, NOW)
    live = window_files(sources.live, True, NOW - HOUR, NOW)
    assert not isinstance(ref, str)
    assert not isinstance(live, str)
    assert (
        ref.size
        == sum(p.stat().st_size for p in (table / "data").glob("*.csv"))
        + (table / "extra" / "more.csv").stat().st_size
    )
    assert live.size == sum((folder / f"2025/03/01/{h}/part-0.jsonl").stat().st_size for h in (11, 12))


def test_a_plain_folder_over_the_file_cap_is_refused_before_any_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the in-process reader refuses it: a folder of many small files would otherwise be listed, sized
    and sent to Spark whole, past the cap every other window kind keeps."""
    from modeldeploy import caps

    monkeypatch.setattr(caps, "MAX_DATA_FILES", 3)
    for i in range(4):
        (tmp_path / f"part-{i}.csv").write_text("x\n1\n")
    source = source_for(f"file://{tmp_path}/", "csv", locator=LOCAL)
    with pytest.raises(caps.LimitExceeded) as refused:
        window_files(source, False, NOW - HOUR, NOW)
    assert str(refused.value) == f"4 data files at {tmp_path}/: more than 3, the operator's limit"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            "  - take: 100\n",
            "MLTable take is read here (it counts rows in file order, which Spark does not keep)",
        ),
        (
            "  - skip: 5\n",
            "MLTable skip is read here (it counts rows in file order, which Spark does not keep)",
        ),
    ],
)
def test_mltable_steps_that_count_rows_stay_in_process_and_say_why(
    windows: tuple[Path, Path], change: str, why: str
) -> None:
    table, folder = windows
    jobs = Jobs()
    analyzer = DriftAnalyzer(_sources(table, folder, MLTABLE + change), Pushdown(jobs, 1000))
    result = analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    assert jobs.requests == []
    assert {f.engine for f in result.features} == {f"in-process: {why}"}


@pytest.mark.parametrize(
    ("read", "why"),
    [
        (
            "  - read_delimited: {delimiter: ';', header: from_first_file}\n",
            "MLTable header from_first_file is read here (Spark takes one header for every file)",
        ),
        (
            "  - read_delimited: {delimiter: ';', empty_as_string: true}\n",
            "MLTable empty_as_string is read here (Spark reads an unquoted empty field as missing)",
        ),
        (
            "  - read_delimited: {delimiter: ';', include_path_column: true}\n",
            "MLTable include_path_column is read here (Spark would name the files differently)",
        ),
    ],
)
def test_mltable_reads_spark_cannot_repeat_stay_in_process(
    windows: tuple[Path, Path], read: str, why: str
) -> None:
    table, folder = windows
    text = MLTABLE.replace(
        '  - read_delimited:\n      delimiter: ";"\n      header: all_files_same_headers\n', read
    )
    assert text != MLTABLE
    sources = _sources(table, folder, text)
    assert window_files(sources.reference, False, NOW - HOUR, NOW) == why


def test_a_collector_window_without_files_is_inconclusive_as_in_process(windows: tuple[Path, Path]) -> None:
    table, folder = windows
    later = datetime(2025, 3, 2, 9, tzinfo=UTC)
    pushed = DriftAnalyzer(_sources(table, folder), Pushdown(Jobs(), 1000)).run(
        AnalysisConfig(drift=CONFIG), later
    )
    here = DriftAnalyzer(_sources(table, folder)).run(AnalysisConfig(drift=CONFIG), later)
    assert pushed.verdict is here.verdict is Verdict.INCONCLUSIVE
    assert pushed.message == here.message
    assert pushed.message.startswith(f"drift not evaluated: no data files at data collector {folder} from ")


def test_a_job_that_finds_no_request_in_the_window_is_inconclusive_with_the_in_process_message(
    windows: tuple[Path, Path],
) -> None:
    table, folder = windows
    jobs = Jobs()
    analyzer = DriftAnalyzer(_sources(table, folder), Pushdown(jobs, 1000))
    with pytest.raises(AnalysisPending):
        analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    empty = jobs.requests[0]["live_options"]["if_empty"]
    jobs.states = [JobState(JobStatus.SUCCEEDED, {"unavailable": empty, "engine": "spark 4.0"})]
    result = analyzer.run(AnalysisConfig(drift=CONFIG), NOW)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == f"drift not evaluated: {empty}"


def test_an_mltable_file_outside_the_data_root_is_refused_before_any_job(windows: tuple[Path, Path]) -> None:
    table, folder = windows
    root = Locator(data_root=str(table.parent))
    outside = table.parent.parent / "elsewhere.csv"
    outside.write_text(_csv(10, 0.0))
    (table / "MLTable").write_text(MLTABLE.replace("./extra/more.csv", f"file://{outside}"))
    jobs = Jobs()
    sources = Sources(
        source_for(f"file://{table}", "mltable", locator=root),
        source_for(f"file://{folder}", "jsonl", live=True, locator=root),
        HOUR,
    )
    result = DriftAnalyzer(sources, Pushdown(jobs, 1000)).run(AnalysisConfig(drift=CONFIG), NOW)
    assert jobs.requests == []
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "outside the operator's data root" in result.message


def test_a_stopping_operator_cancels_every_drift_job_still_running(tmp_path: Path) -> None:
    """Local Spark jobs run in their own sessions, so they would outlive the operator's SIGTERM: its
    cleanup handler closes the analysis service, which cancels them."""
    from modeldeploy.analysis.service import AnalysisService
    from modeldeploy.rollout.actions import RunAnalysis
    from tests.analysis.test_drift_metrics import NOW as RUN_AT
    from tests.analysis.test_drift_metrics import OWNER, REVISION, _spec

    jobs = Jobs()
    service = AnalysisService(
        providers_for=lambda _: {}, data_root="/", pushdown=lambda owner, spec: Pushdown(jobs, 1)
    )
    with pytest.raises(AnalysisPending, match="submitted"):
        service.run(
            OWNER, _spec(tmp_path, "kubernetes"), RunAnalysis(REVISION, None, 0, RUN_AT - HOUR), RUN_AT
        )
    assert jobs.cancelled == []
    service.close()
    assert jobs.cancelled == ["job-1"]


@pytest.mark.parametrize(
    ("transformations", "options"),
    [
        ("[read_parquet]", {}),
        ("[{read_json_lines: {invalid_lines: drop}}]", {"drop_invalid": True}),
        (
            "[read_json_lines, {drop_columns: note}]",
            {"drop_invalid": False, "steps": [["drop_columns", ["note"]]]},
        ),
        (
            "[{read_delimited: {header: no_header, delimiter: '|', support_multi_line: true}}]",
            {"delimiter": "|", "header": False, "multi_line": True},
        ),
    ],
)
def test_how_spark_reads_each_mltable(transformations: str, options: dict[str, object]) -> None:
    from modeldeploy.analysis.mltable import parse_plan
    from modeldeploy.analysis.window_files import mltable_options

    plan = parse_plan(yaml.safe_load(f"paths: [file: a]\ntransformations: {transformations}\n"), "MLTable t")
    assert mltable_options(plan) == options
