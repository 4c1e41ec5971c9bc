"""The files a drift window would read, with their total size and how to read them, for a Spark job.

The in-process readers decide which files make a window (a plain file, folder or glob; an MLTable's
``paths``; the data collector's hour folders); this module asks the same readers for the same list, sizes it
from the listing (nothing is downloaded but an MLTable's own YAML file) and says how Spark must read it
(``WindowFiles.options``, applied by ``spark_job._read``), so the job sees the rows the operator would have.

What a Spark job cannot read as the operator does stays in-process, and the reason says what:
``take``/``skip`` (row order across files, which Spark does not keep), ``include_path_column`` (the job
would name files by other URIs), the header modes that differ per file, ``empty_as_string`` (Spark reads an
unquoted empty field as missing), a column-filtered time window.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modeldeploy import caps
from modeldeploy.caps import LimitExceeded

from .mltable import MLTableSource, Plan
from .sources import DataCollectorSource, StoreSource, data_files
from .stores import BlobStore, DataUnavailable, LocalStore, Store

SPARK_FORMATS = {"read_delimited": "csv", "read_parquet": "parquet", "read_json_lines": "jsonl"}


@dataclass(frozen=True)
class WindowFiles:
    paths: tuple[str, ...]  # as the Spark job opens them: local paths, or abfss:// URIs
    size: int
    fmt: str
    where: str
    options: Mapping[str, Any] = field(default_factory=dict)  # spark_job._read's reading options


def _abfss(store: BlobStore, name: str) -> str:
    """https://<account>.blob.core.windows.net/<container> -> abfss://<container>@<account>.dfs...: the
    ADLS driver Spark pools ship reads Blob accounts through their dfs endpoint."""
    account_url, _, container = store.location.rpartition("/")
    host = account_url.split("://", 1)[-1].replace(".blob.", ".dfs.", 1)
    return f"abfss://{container}@{host}/{name.lstrip('/')}"


def spark_path(store: Store, name: str) -> tuple[str, int]:
    """The file as the Spark job opens it, and its size (from the listing; a file never listed is)."""
    if isinstance(store, LocalStore):
        store.check(name)  # the data root binds the job as it binds the operator's own reads
        try:
            return name, os.path.getsize(name)
        except OSError as exc:
            raise DataUnavailable(f"cannot read {name}: {exc}") from exc
    if isinstance(store, BlobStore):
        if name not in store.sizes:
            store.list(name)  # an MLTable ``file`` entry: named, not listed yet
        if name not in store.sizes:
            raise DataUnavailable(f"no data file at {store.describe(name)}")
        return _abfss(store, name), store.sizes[name]
    raise DataUnavailable(f"{store.describe(name)}: a Spark job cannot read this store")


def _files(pairs: list[tuple[Store, str]], fmt: str, where: str, options: Mapping[str, Any]) -> WindowFiles:
    if len(pairs) > caps.MAX_DATA_FILES:  # the in-process readers' cap; it also keeps the job's request small
        raise LimitExceeded(
            f"{len(pairs)} data files at {where}: more than {caps.MAX_DATA_FILES}, the operator's limit"
        )
    sized = [spark_path(store, name) for store, name in pairs]
    return WindowFiles(tuple(p for p, _ in sized), sum(s for _, s in sized), fmt, where, dict(options))


def store_files(store: Store, path: str, fmt: str) -> WindowFiles:
    names = data_files(store, path)
    if not names:
        raise DataUnavailable(f"no data files at {store.describe(path)}")
    # JSON lines are read as in-process: a data collector envelope's rows, not the envelope.
    options = {"envelopes": True} if fmt == "jsonl" else {}
    return _files([(store, n) for n in names], fmt, store.describe(path), options)


def collector_files(source: DataCollectorSource, start: datetime, end: datetime) -> WindowFiles:
    """The hour (or day) folders' files; the job keeps only the envelopes timed inside [start, end)."""
    where = source.where(start, end)
    names = source.files(start, end)
    if not names:
        raise DataUnavailable(f"no data files at {where}")
    empty = f"{where}: {len(names)} file(s), but no request timed inside the window"  # as in-process
    window = {"start": _iso(start), "end": _iso(end), "if_empty": empty}
    return _files([(source.store, n) for n in names], "jsonl", where, {"envelopes": True, **window})


def _iso(t: datetime) -> str:
    return (t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()


def mltable_options(plan: Plan) -> dict[str, Any] | str:
    """How Spark reads what the plan describes, or why it cannot read it as the operator does."""
    read = plan.read
    if read.include_path:
        return "MLTable include_path_column is read here (Spark would name the files differently)"
    options: dict[str, Any] = {}
    if read.kind == "read_delimited":
        if read.header not in ("all_files_same_headers", "no_header"):
            return f"MLTable header {read.header} is read here (Spark takes one header for every file)"
        if read.empty_as_string:
            return "MLTable empty_as_string is read here (Spark reads an unquoted empty field as missing)"
        options |= {"delimiter": read.delimiter, "header": read.header == "all_files_same_headers"}
        options["multi_line"] = read.multi_line
    elif read.kind == "read_json_lines":
        options["drop_invalid"] = read.drop_invalid_lines
    for key, value in plan.steps:
        if key in ("take", "skip"):
            return f"MLTable {key} is read here (it counts rows in file order, which Spark does not keep)"
        options.setdefault("steps", []).append([key, value])
    return options


def mltable_files(source: MLTableSource) -> WindowFiles | str:
    plan = source.plan()
    options = mltable_options(plan)
    if isinstance(options, str):
        return options
    return _files(list(source.files(plan)), SPARK_FORMATS[plan.read.kind], source.where, options)


def window_files(source: object, live: bool, start: datetime, end: datetime) -> WindowFiles | str:
    """The files a source would read, their total size and how to read them; or why a Spark job cannot
    read this source as the operator does (it is then read in-process)."""
    from .uris import UriSource, reader

    if isinstance(source, UriSource):
        store, path = source.locator.open(source.location)
        source = reader(store, path, source.fmt, live, source.locator)
    if isinstance(source, MLTableSource):
        return mltable_files(source)
    if isinstance(source, DataCollectorSource):
        return collector_files(source, start, end)
    if isinstance(source, StoreSource) and source.time_column is None and source.fmt is not None:
        return store_files(source.store, source.path, source.fmt)
    if isinstance(source, StoreSource):
        return "a window filtered on a time column, or of mixed formats, is read here"
    return f"{type(source).__name__} data is not files a Spark job can read"
