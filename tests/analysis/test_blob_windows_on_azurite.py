"""Blob windows through the real azure-storage-blob client against Azurite (replacing the in-memory
container these tests used): files under a folder are concatenated, a folder is whole path segments and a
glob stays in one, the data collector's live window lists only its hour folders, and the Spark pushdown
sizes a window from the real listing and hands the job abfss:// URIs of exactly the files it would read
(plain folders, MLTable paths and the collector's hour folders)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from modeldeploy.analysis.mltable import MLTableSource
from modeldeploy.analysis.sources import BlobSource, DataCollectorSource
from modeldeploy.analysis.stores import BlobStore
from modeldeploy.analysis.window_files import collector_files, mltable_files, store_files
from tests.analysis.blob_fakes import parquet_bytes

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
LOCATION = "https://kdapdata.blob.core.windows.net/lake"


class Recording:
    """The real ContainerClient, recording the prefixes listed and the blobs downloaded."""

    def __init__(self, inner: ContainerClient) -> None:
        self.inner = inner
        self.prefixes: list[str | None] = []
        self.downloads: list[str] = []

    def list_blobs(self, name_starts_with: str | None = None, **kwargs: Any) -> Any:
        self.prefixes.append(name_starts_with)
        return self.inner.list_blobs(name_starts_with=name_starts_with, **kwargs)

    def download_blob(self, blob: str, **kwargs: Any) -> Any:
        self.downloads.append(blob)
        return self.inner.download_blob(blob, **kwargs)


@pytest.fixture
def lake(azurite: str) -> Any:
    """A fresh container per test; ``lake(blobs)`` uploads and returns the recording client."""
    name = f"lake{uuid.uuid4().hex[:10]}"
    BlobServiceClient.from_connection_string(azurite).create_container(name)
    inner = ContainerClient.from_connection_string(azurite, name)

    def upload(blobs: dict[str, bytes]) -> Recording:
        for blob, data in blobs.items():
            inner.upload_blob(blob, data, overwrite=True)
        return Recording(inner)

    return upload


def _xs(n: int, start: float = 0.0) -> bytes:
    return parquet_bytes(pa.table({"x": [start + i for i in range(n)]}))


def test_a_blob_folder_is_every_file_under_it_concatenated(lake: Any) -> None:
    client = lake({"ref/part-0.parquet": _xs(10), "ref/part-1.parquet": _xs(5)})
    assert len(BlobSource(client, "ref/").load(None, None)["x"]) == 15


def test_blob_paths_are_folders_or_globs_never_name_prefixes(lake: Any) -> None:
    client = lake(
        {
            "ref/a.parquet": _xs(3),
            "ref/_SUCCESS": b"",
            "ref/sub/b.parquet": _xs(4),
            "ref_old/c.parquet": b"a sibling folder sharing the name prefix: never read",
        }
    )
    assert len(BlobSource(client, "ref").load(None, None)["x"]) == 7
    assert len(BlobSource(client, "ref/*.parquet").load(None, None)["x"]) == 3  # * stays in one folder
    assert set(client.downloads) == {"ref/a.parquet", "ref/sub/b.parquet"}


def _collector_line(rows: list[dict[str, Any]]) -> str:
    return json.dumps({"specversion": "1.0", "type": "azureml.inference.model_inputs", "data": rows})


def test_the_data_collector_window_lists_and_reads_only_its_hours(lake: Any) -> None:
    base = "modelDataCollector/ep/green/model_inputs"
    client = lake({
        f"{base}/2025/03/01/10/a.jsonl": _collector_line([{"x": 100.0}]).encode(),
        f"{base}/2025/03/01/11/a.jsonl": (_collector_line([{"x": 1.0}, {"x": 2.0}]) + "\n").encode(),
        f"{base}/2025/03/01/12/b.jsonl": _collector_line([{"x": 3.0}]).encode(),
    })  # fmt: skip
    cols = DataCollectorSource(BlobStore(client), base).load(NOW - timedelta(hours=1), NOW)
    assert sorted(cols["x"]) == [1.0, 2.0, 3.0]
    assert client.prefixes == [f"{base}/2025/03/01/11/", f"{base}/2025/03/01/12/"]
    assert f"{base}/2025/03/01/10/a.jsonl" not in client.downloads


def test_the_pushdown_sizes_a_window_from_the_real_listing_without_downloading(lake: Any) -> None:
    blobs = {
        "live/2025/part-0.parquet": _xs(2000),
        "live/2025/part-1.parquet": _xs(500),
        "live/_SUCCESS": b"",
    }
    client = lake(blobs)
    files = store_files(BlobStore(client, LOCATION), "live", "parquet")
    assert files.size == len(blobs["live/2025/part-0.parquet"]) + len(blobs["live/2025/part-1.parquet"])
    assert files.paths == (
        "abfss://lake@kdapdata.dfs.core.windows.net/live/2025/part-0.parquet",
        "abfss://lake@kdapdata.dfs.core.windows.net/live/2025/part-1.parquet",
    )
    assert client.downloads == []  # sizes come with the listing


def test_an_mltable_and_a_collector_window_are_handed_to_spark_from_the_listing(lake: Any) -> None:
    base = "modelDataCollector/ep/green/model_inputs"
    blobs = {
        "ref/MLTable": b"paths: [folder: ./parts, file: ./one.parquet]\ntransformations: [read_parquet]\n",
        "ref/parts/a.parquet": _xs(300),
        "ref/parts/_SUCCESS": b"",
        "ref/one.parquet": _xs(20),
        f"{base}/2025/03/01/10/a.jsonl": _collector_line([{"x": 100.0}]).encode(),
        f"{base}/2025/03/01/11/a.jsonl": _collector_line([{"x": 1.0}, {"x": 2.0}]).encode(),
        f"{base}/2025/03/01/12/b.jsonl": _collector_line([{"x": 3.0}]).encode(),
    }
    client = lake(blobs)
    store = BlobStore(client, LOCATION)
    ref = mltable_files(MLTableSource(store, "ref", lambda uri: (store, uri)))
    assert not isinstance(ref, str)
    assert ref.paths == (
        "abfss://lake@kdapdata.dfs.core.windows.net/ref/parts/a.parquet",
        "abfss://lake@kdapdata.dfs.core.windows.net/ref/one.parquet",
    )
    assert (ref.fmt, ref.size) == (
        "parquet",
        len(blobs["ref/parts/a.parquet"]) + len(blobs["ref/one.parquet"]),
    )
    live = collector_files(DataCollectorSource(store, base), NOW - timedelta(hours=1), NOW)
    assert live.paths == tuple(
        f"abfss://lake@kdapdata.dfs.core.windows.net/{base}/2025/03/01/{h}"
        for h in ("11/a.jsonl", "12/b.jsonl")
    )
    assert live.size == len(blobs[f"{base}/2025/03/01/11/a.jsonl"]) + len(
        blobs[f"{base}/2025/03/01/12/b.jsonl"]
    )
    assert client.downloads == ["ref/MLTable"]  # the table's own YAML; data sizes come with the listings


def test_a_collector_hour_on_blob_keeps_late_keys_and_reads_mixed_files_as_the_engines_agree(
    lake: Any,
) -> None:
    """The data collector's hour files as Azurite serves them: a key first logged after an hour's first
    request is kept, whole numbers in one file and decimals in another are doubles, numbers in one file and
    text in another are text, a CSV-style null token in JSON stays the text it is."""

    def hour(rows: list[dict[str, object]], minute: int) -> bytes:
        return (json.dumps({"time": f"2025-03-01T12:{minute:02d}:00Z", "data": rows}) + "\n").encode()

    folder = "modelDataCollector/ep/blue/model_inputs"
    client = lake(
        {
            f"{folder}/2025/03/01/12/a.jsonl": hour([{"x": 1, "n": 2}, {"x": 2, "n": 3, "late": "k"}], 0),
            f"{folder}/2025/03/01/12/b.jsonl": hour([{"x": 2.5, "n": "4", "late": "NA"}], 10),
        }
    )
    window = DataCollectorSource(BlobStore(client), folder).load(NOW - timedelta(hours=1), NOW)
    assert window["x"].tolist() == [1.0, 2.0, 2.5]  # type: ignore[union-attr]
    assert window["n"].to_pylist() == ["2", "3", "4"]  # type: ignore[union-attr]
    assert window["late"].to_pylist() == [None, "k", "NA"]  # type: ignore[union-attr]
