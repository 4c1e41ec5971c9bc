"""A live URI at an Azure ML data collector folder reads only the hour folders the live window touches, from
Blob and from local directories alike; a reference there is read whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.analysis.sources import DataCollectorSource, DataUnavailable, is_collector_folder
from modeldeploy.analysis.stores import LocalStore
from modeldeploy.analysis.uris import Locator, source_for
from tests.analysis.blob_fakes import Containers, FakeContainer

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
ACCOUNT = "https://kdapdata.blob.core.windows.net"
FOLDER = "modelDataCollector/anomaly-detector/blue/model_inputs"

LOCAL = Locator(data_root="/")  # file:// reads need a data root; these tests are about formats


def _envelopes(*rows: dict[str, Any]) -> bytes:
    """One line per request, as the collector writes them: rows under ``data``."""
    lines = [
        json.dumps({"specversion": "1.0", "type": "azureml.inference.model_inputs", "data": [row]})
        for row in rows
    ]
    return ("\n".join(lines) + "\n").encode()


HOURS = {
    "2025/02/28/12": _envelopes({"x": 900.0}),  # a day earlier, same hour of day
    "2025/03/01/10": _envelopes({"x": 100.0}),
    "2025/03/01/11": _envelopes({"x": 1.0}, {"x": 2.0}),
    "2025/03/01/12": _envelopes({"x": 3.0}),
    "2025/03/01/13": _envelopes({"x": 500.0}),  # written after the window (clock skew, a late run)
}


def test_blob_collector_downloads_only_the_window_hours() -> None:
    blobs = {f"{FOLDER}/{hour}/part-0.jsonl": data for hour, data in HOURS.items()}
    container = FakeContainer(blobs)
    locator = Locator(make_client=Containers({(ACCOUNT, "collected"): container}))
    uri = f"abfss://collected@kdapdata.dfs.core.windows.net/{FOLDER}/"
    cols = source_for(uri, "parquet", live=True, locator=locator).load(NOW - timedelta(hours=1), NOW)
    assert sorted(cols["x"]) == [1.0, 2.0, 3.0]
    assert container.prefixes == [f"{FOLDER}/2025/03/01/11/", f"{FOLDER}/2025/03/01/12/"]
    assert container.downloads == [
        f"{FOLDER}/2025/03/01/11/part-0.jsonl",
        f"{FOLDER}/2025/03/01/12/part-0.jsonl",
    ]


def test_the_reference_side_reads_a_collector_folder_whole() -> None:
    blobs = {f"{FOLDER}/{hour}/part-0.jsonl": data for hour, data in HOURS.items()}
    container = FakeContainer(blobs)
    locator = Locator(make_client=Containers({(ACCOUNT, "collected"): container}))
    uri = f"https://kdapdata.blob.core.windows.net/collected/{FOLDER}"
    cols = source_for(uri, "jsonl", locator=locator).load(None, None)
    assert sorted(cols["x"]) == [1.0, 2.0, 3.0, 100.0, 500.0, 900.0]
    assert len(container.downloads) == len(HOURS)


def _local_collector(root: Path) -> Path:
    folder = root / FOLDER
    for hour, data in HOURS.items():
        (folder / hour).mkdir(parents=True)
        (folder / hour / "part-0.jsonl").write_bytes(data)
    # Any read outside the window would fail the load on this file.
    (folder / "2025/03/01/09").mkdir()
    (folder / "2025/03/01/09/part-0.jsonl").write_text("not json\n")
    return folder


def test_local_collector_folder_reads_only_the_window_hours(tmp_path: Path) -> None:
    folder = _local_collector(tmp_path)
    src = source_for(f"file://{folder}", "parquet", live=True, locator=LOCAL)
    cols = src.load(NOW - timedelta(hours=1), NOW)
    assert sorted(cols["x"]) == [1.0, 2.0, 3.0]
    with pytest.raises(DataUnavailable, match=r"unreadable data at .*/2025/03/01/09/part-0\.jsonl"):
        src.load(NOW - timedelta(hours=3, minutes=30), NOW - timedelta(hours=3))


def test_hour_folders_are_utc_whatever_the_window_zone(tmp_path: Path) -> None:
    folder = _local_collector(tmp_path)
    cest = timezone(timedelta(hours=2))
    end = NOW.astimezone(cest)  # 14:30 local is 12:30 UTC
    assert DataCollectorSource(LocalStore(), str(folder)).hours(end - timedelta(minutes=30), end) == [
        f"{folder}/2025/03/01/12/"
    ]
    cols = source_for(f"file://{folder}/", "jsonl", live=True, locator=LOCAL).load(
        end - timedelta(minutes=30), end
    )
    assert list(cols["x"]) == [3.0]


def test_a_window_with_no_hour_folders_says_where_it_looked(tmp_path: Path) -> None:
    folder = _local_collector(tmp_path)
    src = source_for(f"file://{folder}", "jsonl", live=True, locator=LOCAL)
    start = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(DataUnavailable) as err:
        src.load(start, start + timedelta(hours=1))
    assert str(err.value) == (
        f"no data files at data collector {folder} from 2025-04-01T08:00 to 2025-04-01T09:00 UTC "
        "(<folder>/YYYY/MM/DD/HH/ or, rolled daily, <folder>/YYYY/MM/DD/)"
    )


def _timed(*rows: tuple[str, float]) -> bytes:
    """Envelopes with the collector's CloudEvents ``time``."""
    lines = [
        json.dumps(
            {"specversion": "1.0", "time": t, "type": "azureml.inference.model_inputs", "data": [{"x": x}]}
        )
        for t, x in rows
    ]
    return ("\n".join(lines) + "\n").encode()


def test_only_requests_timed_inside_the_window_count(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER
    (folder / "2025/03/01/11").mkdir(parents=True)
    (folder / "2025/03/01/12").mkdir(parents=True)
    (folder / "2025/03/01/11/part-0.jsonl").write_bytes(
        _timed(("2025-03-01T11:10:00Z", 10.0), ("2025-03-01T11:40:00Z", 40.0))
    )
    (folder / "2025/03/01/12/part-0.jsonl").write_bytes(
        _timed(("2025-03-01T12:05:00+00:00", 65.0), ("2025-03-01T12:30:00Z", 90.0))  # the end is excluded
    )
    src = source_for(f"file://{folder}", "jsonl", live=True, locator=LOCAL)
    cols = src.load(NOW - timedelta(hours=1), NOW)  # 11:30 to 12:30
    assert sorted(cols["x"]) == [40.0, 65.0]
    with pytest.raises(DataUnavailable) as err:
        src.load(NOW - timedelta(hours=1, minutes=25), NOW - timedelta(hours=1, minutes=20))  # 11:05-11:10
    assert str(err.value).endswith("1 file(s), but no request timed inside the window")


def test_a_daily_rolling_collector_is_read_by_day_and_filtered_by_time() -> None:
    blobs = {
        f"{FOLDER}/2025/03/01/part-0.jsonl": _timed(
            ("2025-03-01T03:00:00Z", 3.0), ("2025-03-01T12:00:00Z", 12.0)
        ),
        f"{FOLDER}/2025/02/28/part-0.jsonl": b"the day before: never read",
    }
    container = FakeContainer(blobs)
    locator = Locator(make_client=Containers({(ACCOUNT, "collected"): container}))
    uri = f"abfss://collected@kdapdata.dfs.core.windows.net/{FOLDER}"
    cols = source_for(uri, "jsonl", live=True, locator=locator).load(NOW - timedelta(hours=1), NOW)
    assert list(cols["x"]) == [12.0]
    assert container.downloads == [f"{FOLDER}/2025/03/01/part-0.jsonl"]


@pytest.mark.parametrize(
    ("path", "collector"),
    [
        ("modelDataCollector/ep/blue/model_inputs", True),
        ("modelDataCollector/ep/blue/model_outputs/", True),
        ("collected/budget-optimizer/model_inputs/", True),  # named like a collection, anywhere
        ("modelDataCollector/ep/blue/custom_features", True),  # a custom collection under the root
        ("modelDataCollector/propensity-scorer/", False),  # an endpoint: deployments and collections below
        ("modelDataCollector/ep/blue/model_inputs/2025/03/01", False),  # one day, read as plain files
        ("propensity/inputs/", False),
    ],
)
def test_collector_folders(path: str, collector: bool) -> None:
    assert is_collector_folder(path) is collector


def test_a_daily_rolling_local_folder_named_in_a_roundabout_way(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER
    (folder / "2025/03/01/09").mkdir(parents=True)  # an hour folder left from an hourly setting
    (folder / "2025/03/01/day.jsonl").write_bytes(_timed(("2025-03-01T12:10:00Z", 7.0)))
    (folder / "2025/03/01/09/old.jsonl").write_bytes(
        _envelopes({"x": 900.0})
    )  # no time: only its folder says
    uri = f"file://{tmp_path}/.//{FOLDER}/"  # listed names must keep the URI's spelling to be cut by it
    cols = source_for(uri, "jsonl", live=True, locator=LOCAL).load(NOW - timedelta(hours=1), NOW)
    assert list(cols["x"]) == [7.0]
