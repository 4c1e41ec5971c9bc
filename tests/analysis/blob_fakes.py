"""azure-storage-blob at its boundary: a ContainerClient answering from memory, and a client factory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties


class Download:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def readall(self) -> bytes:
        return self.data


class FakeContainer:
    """azure.storage.blob.ContainerClient's two calls, answering with BlobProperties like the SDK; records
    every listed prefix and downloaded blob."""

    def __init__(self, blobs: Mapping[str, bytes]) -> None:
        self.blobs = dict(blobs)
        self.prefixes: list[str | None] = []
        self.downloads: list[str] = []

    def list_blobs(self, name_starts_with: str | None = None, **kwargs: Any) -> Iterable[BlobProperties]:
        self.prefixes.append(name_starts_with)
        return [BlobProperties(name=n) for n in sorted(self.blobs) if n.startswith(name_starts_with or "")]

    def download_blob(self, blob: str, **kwargs: Any) -> Download:
        self.downloads.append(blob)
        if blob not in self.blobs:
            raise ResourceNotFoundError(f"The specified blob does not exist: {blob}")
        return Download(self.blobs[blob])


class Containers:
    """A ``make_client`` for the analysis: the fake container of each (account URL, container) pair."""

    def __init__(self, containers: Mapping[tuple[str, str], FakeContainer]) -> None:
        self.containers = dict(containers)
        self.opened: list[tuple[str, str]] = []

    def __call__(self, account_url: str, container: str) -> FakeContainer:
        self.opened.append((account_url, container))
        found = self.containers.get((account_url, container))
        if found is None:
            raise AssertionError(f"no fake container {container} at {account_url}")
        return found


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
