"""Data sources from the spec's URIs: local files, Azure Blob / ADLS Gen2 paths.

``{namespace}``, ``{name}`` and ``{revision}`` in a URI are filled in per analysis, so one spec can point at
per-revision folders (e.g. what a data collector writes for each deployment).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import urlparse

from .sources import (
    BlobSource,
    ContainerClient,
    DataSource,
    DataUnavailable,
    FileSource,
    container_client,
)
from .types import Columns

ClientFactory = Callable[[str, str], ContainerClient]
_ADLS = re.compile(
    r"^(abfss|wasbs)://(?P<container>[^@/]+)@(?P<account>[^./]+)\.(dfs|blob)\.core\.windows\.net/(?P<path>.*)$"
)


class Unavailable:
    """A source that cannot be read here; every load says why, so the analysis is Inconclusive, not wrong."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        raise DataUnavailable(self.reason)


def fill(uri: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        uri = uri.replace("{" + key + "}", value)
    return uri


def source_for(uri: str, fmt: str, make_client: ClientFactory = container_client) -> DataSource:
    if fmt == "mltable":
        return Unavailable(
            f"{uri}: format mltable is not readable by the operator; export csv, parquet or jsonl"
        )
    if uri.startswith("file://"):
        return FileSource(urlparse(uri).path, fmt)
    m = _ADLS.match(uri)
    if m:
        account_url = f"https://{m['account']}.blob.core.windows.net"
        return BlobSource(make_client(account_url, m["container"]), m["path"], fmt)
    if uri.startswith("https://"):
        parsed = urlparse(uri)
        container, _, prefix = parsed.path.lstrip("/").partition("/")
        if not parsed.netloc.endswith(".blob.core.windows.net") or not container:
            return Unavailable(
                f"{uri}: an https data URI must be https://<account>.blob.core.windows.net/<container>/<path>"
            )
        return BlobSource(make_client(f"https://{parsed.netloc}", container), prefix, fmt)
    return Unavailable(
        f"{uri}: azureml:// data URIs need datastore resolution, which the operator does not do; "
        "use the datastore's abfss:// or https:// path"
    )
