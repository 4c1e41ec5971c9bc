"""Reference and live windows as columns: local files, Azure Blob, the Azure ML data collector's layout and
Log Analytics. Any failure to read becomes ``DataUnavailable`` with a message naming what was missing;
``run_analysis`` turns that into an Inconclusive verdict.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .types import Column, Columns


class DataUnavailable(Exception):
    """The window could not be read; the message says what and where."""


class DataSource(Protocol):
    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        """The window [start, end) as columns (a reference ignores the times)."""
        ...


def _format(name: str, fmt: str | None) -> str:
    fmt = fmt or Path(name).suffix.lstrip(".").lower()
    if fmt not in ("csv", "parquet", "jsonl"):
        raise DataUnavailable(f"{name}: unknown format {fmt!r}; use csv, parquet or jsonl")
    return fmt


def read_table(data: bytes | str, fmt: str) -> pa.Table:
    src = pa.BufferReader(data) if isinstance(data, bytes) else data
    if fmt == "parquet":
        return pq.read_table(src)
    if fmt == "csv":
        return pacsv.read_csv(src)
    raw = data if isinstance(data, bytes) else Path(data).read_bytes()
    return _jsonl(raw)


def _jsonl(raw: bytes) -> pa.Table:
    """JSON lines; a line with a ``data`` list (the data collector's envelope) contributes its records."""
    rows: list[dict[str, Any]] = []
    for line in raw.splitlines():
        if line.strip():
            obj = json.loads(line)
            rows.extend(obj["data"] if isinstance(obj, dict) and isinstance(obj.get("data"), list) else [obj])
    return pa.Table.from_pylist(rows)


def to_columns(table: pa.Table) -> dict[str, Column]:
    """Numbers become float64 numpy (nulls NaN); everything else stays Arrow."""
    out: dict[str, Column] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            out[name] = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy())
        else:
            out[name] = col
    return out


def _window(
    table: pa.Table, time_column: str | None, start: datetime | None, end: datetime | None
) -> pa.Table:
    if time_column is None or (start is None and end is None):
        return table
    if time_column not in table.column_names:
        raise DataUnavailable(f"time column {time_column!r} not in the data (columns: {table.column_names})")
    ts = pc.cast(table[time_column], pa.timestamp("us", tz="UTC"))
    mask = pc.and_(
        pc.greater_equal(ts, pa.scalar(start or datetime.min, pa.timestamp("us", tz="UTC"))),
        pc.less(ts, pa.scalar(end or datetime.max, pa.timestamp("us", tz="UTC"))),
    )
    return table.filter(mask)


def _concat(tables: list[pa.Table], where: str) -> pa.Table:
    if not tables:
        raise DataUnavailable(f"no data files at {where}")
    try:
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataUnavailable(f"{where}: files disagree on columns: {exc}") from exc


class FileSource:
    """A local file, directory or glob of CSV/Parquet/JSON-lines files."""

    def __init__(self, path: str, fmt: str | None = None, time_column: str | None = None) -> None:
        self.path, self.fmt, self.time_column = path.removeprefix("file://"), fmt, time_column

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        p = Path(self.path)
        names = (
            sorted(str(f) for f in p.rglob("*") if f.is_file())
            if p.is_dir()
            else sorted(glob.glob(self.path))
        )
        try:
            tables = [read_table(n, _format(n, self.fmt)) for n in names]
        except (OSError, pa.ArrowInvalid, json.JSONDecodeError) as exc:
            raise DataUnavailable(f"unreadable data at {self.path}: {exc}") from exc
        return to_columns(_window(_concat(tables, self.path), self.time_column, start, end))


class ContainerClient(Protocol):
    def list_blobs(self, name_starts_with: str | None = None, **kwargs: Any) -> Iterable[Any]: ...
    def download_blob(self, blob: str, **kwargs: Any) -> Any: ...


def container_client(account_url: str, container: str) -> ContainerClient:
    """The real client, authenticated as the operator's identity (workload identity in AKS)."""
    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import ContainerClient as BlobContainerClient

    client: ContainerClient = BlobContainerClient(account_url, container, credential=DefaultAzureCredential())
    return client


def _read_blobs(
    client: ContainerClient, prefixes: Iterable[str], fmt: str | None, where: str
) -> list[pa.Table]:
    from azure.core.exceptions import AzureError

    tables: list[pa.Table] = []
    try:
        for prefix in prefixes:
            for blob in client.list_blobs(name_starts_with=prefix):
                name = str(blob.name)
                if name.endswith("/") or Path(name).suffix.lower() not in (".csv", ".parquet", ".jsonl"):
                    continue
                data = client.download_blob(name).readall()
                tables.append(read_table(bytes(data), _format(name, fmt)))
    except AzureError as exc:
        raise DataUnavailable(f"cannot read {where}: {type(exc).__name__}: {exc}") from exc
    except (pa.ArrowInvalid, json.JSONDecodeError) as exc:
        raise DataUnavailable(f"unreadable data at {where}: {exc}") from exc
    return tables


class BlobSource:
    def __init__(
        self, client: ContainerClient, prefix: str, fmt: str | None = None, time_column: str | None = None
    ) -> None:
        self.client, self.prefix, self.fmt, self.time_column = client, prefix, fmt, time_column

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        where = f"blob prefix {self.prefix!r}"
        table = _concat(_read_blobs(self.client, [self.prefix], self.fmt, where), where)
        return to_columns(_window(table, self.time_column, start, end))


class DataCollectorSource:
    """Azure ML data collector output, ``{root}/{endpoint}/{deployment}/{collection}/YYYY/MM/DD/HH/``
    holding ``*.jsonl``; each line is an envelope whose ``data`` holds the logged rows. Only the hours the
    window touches are read."""

    def __init__(
        self, client: ContainerClient, root: str, endpoint: str, deployment: str, collection: str
    ) -> None:
        self.client = client
        self.base = "/".join(p.strip("/") for p in (root, endpoint, deployment, collection) if p)

    def hours(self, start: datetime, end: datetime) -> list[str]:
        t = start.replace(minute=0, second=0, microsecond=0)
        out = []
        while t < end:
            out.append(f"{self.base}/{t:%Y/%m/%d/%H}/")
            t += timedelta(hours=1)
        return out

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        if start is None or end is None:
            raise DataUnavailable(f"data collector {self.base}: a live window needs a start and an end")
        where = f"data collector {self.base} from {start:%Y-%m-%dT%H:%M} to {end:%Y-%m-%dT%H:%M}"
        return to_columns(_concat(_read_blobs(self.client, self.hours(start, end), "jsonl", where), where))


class LogAnalyticsSource:
    """Rows of a KQL query as columns (e.g. a custom table of logged inputs)."""

    def __init__(self, client: Any, workspace_id: str, query: str) -> None:
        self.client, self.workspace_id, self.query = client, workspace_id, query

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        from azure.core.exceptions import AzureError

        span = (start, end) if start and end else None
        try:
            result = self.client.query_workspace(self.workspace_id, self.query, timespan=span)
        except AzureError as exc:
            raise DataUnavailable(f"log analytics query failed: {type(exc).__name__}: {exc}") from exc
        if getattr(result, "partial_error", None) is not None:
            raise DataUnavailable(f"log analytics returned partial data: {result.partial_error.message}")
        tables = list(result)
        if not tables or not tables[0].rows:
            raise DataUnavailable("log analytics query returned no rows for the window")
        t = tables[0]
        return to_columns(pa.table({c: [row[i] for row in t.rows] for i, c in enumerate(t.columns)}))
