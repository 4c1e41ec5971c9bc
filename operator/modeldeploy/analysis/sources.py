"""Reference and live windows as columns: files in a store (local, Azure Blob / ADLS Gen2), the Azure ML data
collector's hour folders and Log Analytics. Any failure to read becomes ``DataUnavailable`` with a message
naming what was missing; ``run_analysis`` turns that into an Inconclusive verdict.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modeldeploy.caps import MAX_DATA_FILES, MAX_DATA_TOTAL, MAX_LIVE_HOURS, LimitExceeded, check_size

from ..api import platform
from .stores import BlobStore, ContainerClient, LocalStore, Store, expand
from .stores import DataUnavailable as DataUnavailable  # its home before stores existed
from .types import Column, Columns


class DataSource(Protocol):
    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        """The window [start, end) as columns (a reference ignores the times)."""
        ...


def _format(name: str, fmt: str | None) -> str:
    fmt = fmt or Path(name).suffix.lstrip(".").lower()
    if fmt not in ("csv", "parquet", "jsonl"):
        raise DataUnavailable(f"{name}: unknown format {fmt!r}; use csv, parquet or jsonl")
    return fmt


def read_table(data: bytes, fmt: str, column_names: Sequence[str] | None = None) -> pa.Table:
    """``column_names``: a CSV without a header row, its columns named in order."""
    if fmt == "parquet":
        return pq.read_table(pa.BufferReader(data))
    if fmt == "csv":
        names = None if column_names is None else list(column_names)
        # An empty text field, or one of Arrow's null tokens (NA, null, ...), is missing, as in a number
        # field, as an MLTable reads it by default and as the Spark job does (spark_job.CSV_NULLS).
        options = pacsv.ConvertOptions(strings_can_be_null=True)
        read = pacsv.ReadOptions(column_names=names)
        return pacsv.read_csv(pa.BufferReader(data), read_options=read, convert_options=options)
    return jsonl(data)


def jsonl(
    raw: bytes,
    skip_invalid: bool = False,
    envelopes: bool = True,
    within: tuple[datetime, datetime] | None = None,
) -> pa.Table:
    """JSON lines; with ``envelopes``, a line with a ``data`` list (the data collector's CloudEvents envelope)
    contributes its records, and with ``within`` only if the envelope's ``time`` is in [start, end) (an
    envelope without a readable time is kept). ``skip_invalid`` drops lines that are not JSON (MLTable's
    ``invalid_lines: drop``)."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            if skip_invalid:
                continue
            raise
        envelope = envelopes and isinstance(obj, dict) and isinstance(obj.get("data"), list)
        if envelope and within is not None and not _in_window(obj.get("time"), within):
            continue
        records = obj["data"] if envelope else [obj]
        odd = [r for r in records if not isinstance(r, dict)]
        if odd and not skip_invalid:
            raise NotAnObject(
                f"line {number} is a JSON {_JSON_KINDS.get(type(odd[0]), 'number')}, not an object"
            )
        rows.extend(r for r in records if isinstance(r, dict))
    return _table(rows)


class NotAnObject(ValueError):
    pass


_JSON_KINDS = {list: "list", str: "string", bool: "boolean", type(None): "null"}


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    """Every key of every row (Arrow alone takes the first row's keys and drops the others); a column that
    mixes types is text (the JSON of its numbers and booleans), as Spark's JSON reader has it."""
    first = rows[0].keys() if rows else {}.keys()
    same = all(r.keys() == first for r in rows)  # the usual case, checked at C speed
    keys = dict.fromkeys(first) if same else dict.fromkeys(k for r in rows for k in r)
    try:
        return pa.Table.from_pylist(rows) if same else pa.Table.from_pylist([keys, *rows]).slice(1)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.table({k: _column([r.get(k) for r in rows]) for k in keys})


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string()
        )


def _in_window(time: object, within: tuple[datetime, datetime]) -> bool:
    try:
        t = _utc(datetime.fromisoformat(str(time)))
    except ValueError:
        return True
    return within[0] <= t < within[1]


def to_columns(table: pa.Table) -> dict[str, Column]:
    """Numbers become float64 numpy (nulls NaN; an integer past 2**53 its nearest double, as Spark casts
    it); everything else stays Arrow."""
    out: dict[str, Column] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            floats = pc.cast(col, pa.float64(), safe=False)
            out[name] = np.asarray(pc.fill_null(floats, np.nan).to_numpy())
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


def concat(tables: list[pa.Table], where: str) -> pa.Table:
    """One table of a window's files, typed as Spark types the window: a column int64 in one file and double
    in another is double; one whose files' types have no common type (numbers and text, booleans and
    numbers) is text in all."""
    if not tables:
        raise DataUnavailable(f"no data files at {where}")
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        texts = _disagreeing(tables)
        try:
            return pa.concat_tables([_as_text(t, texts) for t in tables], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            raise DataUnavailable(f"{where}: files disagree on columns: {exc}") from exc


def _disagreeing(tables: list[pa.Table]) -> set[str]:
    """Columns whose types across the files have no common type (Spark reads them as text)."""
    fields: dict[str, list[pa.Field]] = {}
    for t in tables:
        for f in t.schema:
            fields.setdefault(f.name, []).append(f)
    out = set()
    for name, fs in fields.items():
        try:
            pa.unify_schemas([pa.schema([f]) for f in fs], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            out.add(name)
    return out


def _as_text(table: pa.Table, names: set[str]) -> pa.Table:
    for i, field in enumerate(table.schema):
        if field.name in names and not pa.types.is_string(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.string()))
    return table


DATA_SUFFIXES = (".csv", ".parquet", ".jsonl")
UNREADABLE = (pa.ArrowInvalid, pa.ArrowTypeError, json.JSONDecodeError, UnicodeDecodeError, NotAnObject)


def read_each(store: Store, names: Iterable[str], parse: Callable[[bytes, str], pa.Table]) -> list[pa.Table]:
    """Each named file through ``parse(data, name)``; one that does not parse is ``DataUnavailable`` naming
    it."""
    names = list(names)
    if len(names) > MAX_DATA_FILES:
        where = store.describe(names[0].rsplit("/", 1)[0])
        raise LimitExceeded(
            f"{len(names)} data files at {where}: more than {MAX_DATA_FILES}, the operator's limit"
        )
    tables: list[pa.Table] = []
    total = 0
    for name in names:
        data = store.read(name)
        total += len(data)
        check_size(total, MAX_DATA_TOTAL, f"the data files of one window (up to {store.describe(name)})")
        try:
            tables.append(parse(data, name))
        except UNREADABLE as exc:
            raise DataUnavailable(f"unreadable data at {store.describe(name)}: {exc}") from exc
    return tables


def read_files(
    store: Store,
    names: Iterable[str],
    fmt: str | None,
    where: str,
    column_names: Sequence[str] | None = None,
) -> pa.Table:
    """The named files as one table; ``fmt`` None reads each by its suffix."""
    return concat(
        read_each(store, names, lambda data, name: read_table(data, _format(name, fmt), column_names)), where
    )


def data_files(store: Store, path: str) -> list[str]:
    """The file ``path`` names (read whatever its suffix), or the data files under it or matching it: only
    .csv/.parquet/.jsonl, so ``_SUCCESS``, ``.crc`` and MLTable files beside the data are skipped."""
    names = expand(store, path)
    if names == [path.rstrip("/")]:
        return names
    return [n for n in names if Path(n).suffix.lower() in DATA_SUFFIXES]


class StoreSource:
    """A file, folder or glob of CSV/Parquet/JSON-lines files in a store, read whole (then windowed on
    ``time_column`` when one is given)."""

    def __init__(
        self, store: Store, path: str, fmt: str | None = None, time_column: str | None = None
    ) -> None:
        self.store, self.path, self.fmt, self.time_column = store, path, fmt, time_column

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        where = self.store.describe(self.path)
        table = read_files(self.store, data_files(self.store, self.path), self.fmt, where)
        return to_columns(_window(table, self.time_column, start, end))


class FileSource(StoreSource):
    """A local file, directory or glob."""

    def __init__(self, path: str, fmt: str | None = None, time_column: str | None = None) -> None:
        super().__init__(LocalStore(), path.removeprefix("file://"), fmt, time_column)


class BlobSource(StoreSource):
    """A blob, or every data blob under a folder of a container."""

    def __init__(
        self, client: ContainerClient, prefix: str, fmt: str | None = None, time_column: str | None = None
    ) -> None:
        super().__init__(BlobStore(client), prefix, fmt, time_column)


# Where the data collector writes is the platform contract's (the backend turns it on with the same names).
COLLECTIONS, COLLECTOR_ROOT = platform.COLLECTIONS, platform.COLLECTOR_ROOT


def is_collector_folder(path: str) -> bool:
    """A collection folder of the Azure ML data collector: one named model_inputs / model_outputs, or
    ``modelDataCollector/<endpoint>/<deployment>/<collection>`` (custom collections have any name)."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] in COLLECTIONS:
        return True
    return COLLECTOR_ROOT in parts and len(parts) - parts.index(COLLECTOR_ROOT) == 4


class DataCollectorSource:
    """Azure ML data collector output: ``<collection folder>/YYYY/MM/DD/HH/*.jsonl`` (UTC; ``.../DD/*.jsonl``
    when the collector rolls daily), each line a CloudEvents envelope whose ``data`` holds the logged rows
    and whose ``time`` says when. Only the folders the window touches are listed and read, so a collection
    that has grown for months costs one window's files per analysis, and only envelopes timed inside the
    window count: a window starting at 11:30 does not see 11:10."""

    def __init__(self, store: Store, folder: str) -> None:
        self.store, self.folder = store, folder.rstrip("/")

    def hours(self, start: datetime, end: datetime) -> list[str]:
        t = _utc(start).replace(minute=0, second=0, microsecond=0)
        span = (_utc(end) - t).total_seconds() / 3600
        if span > MAX_LIVE_HOURS + 1:  # +1: a window of N hours touches N+1 hour folders unless aligned
            where = self.store.describe(self.folder)
            raise LimitExceeded(
                f"the live window touches {math.ceil(span)} hour folders of {where}: more than "
                f"{MAX_LIVE_HOURS}, the operator's limit (shorten analysis.drift.live.window)"
            )
        out = []
        while t < _utc(end):
            out.append(f"{self.folder}/{t:%Y/%m/%d/%H}/")
            t += timedelta(hours=1)
        return out

    def days(self, start: datetime, end: datetime) -> list[str]:
        return list(dict.fromkeys(hour[: -len("HH/")] for hour in self.hours(start, end)))

    def where(self, start: datetime, end: datetime) -> str:
        """The window's folders, as messages name them."""
        return f"data collector {self.store.describe(self.folder)}" + (
            f" from {_utc(start):%Y-%m-%dT%H:%M} to {_utc(end):%Y-%m-%dT%H:%M} UTC"
            " (<folder>/YYYY/MM/DD/HH/ or, rolled daily, <folder>/YYYY/MM/DD/)"
        )

    def files(self, start: datetime, end: datetime) -> list[str]:
        """The files of the hour folders the window touches (or of its day folders, rolled daily)."""
        names = [n for hour in self.hours(start, end) for n in data_files(self.store, hour)]
        if not names:  # a daily rolling rate: the files sit in the day folder itself
            names = [
                n
                for day in self.days(start, end)
                for n in data_files(self.store, day)
                if "/" not in n[len(day) :]
            ]
        return names

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        if start is None or end is None:
            where = f"data collector {self.store.describe(self.folder)}"
            raise DataUnavailable(f"{where}: a live window needs a start and an end")
        where = self.where(start, end)
        names = self.files(start, end)
        window = (_utc(start), _utc(end))
        tables = read_each(self.store, names, lambda data, _: jsonl(data, within=window))
        if names and not any(t.num_rows for t in tables):
            raise DataUnavailable(f"{where}: {len(names)} file(s), but no request timed inside the window")
        return to_columns(concat([t for t in tables if t.num_rows], where))


def _utc(t: datetime) -> datetime:
    """The collector's hour folders are UTC; a naive time is taken as UTC."""
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


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
