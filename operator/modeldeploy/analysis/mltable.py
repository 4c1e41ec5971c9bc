"""MLTable folders (``format: mltable``): a folder holding a YAML file named ``MLTable`` that says which files
make the table and how to read them (https://learn.microsoft.com/azure/machine-learning/reference-yaml-mltable).

The part of the schema a drift reference or live sample needs is read here, with pyarrow, from the same
stores as plain files: ``paths`` (``file``, ``folder``, ``pattern``; relative to the MLTable's folder, or URIs
opened like the spec's own), one read transformation first (``read_delimited``, ``read_parquet``,
``read_json_lines``), then ``take``, ``skip``, ``keep_columns`` and ``drop_columns``. Anything else
(``convert_column_types``, ``filter``, Delta Lake, another encoding, ...) is refused by name before any data
is downloaded, so the analysis is Inconclusive with a message rather than quietly reading something else.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from modeldeploy.caps import MAX_DATA_FILES, MAX_DATA_TOTAL, LimitExceeded, check_size

from .sources import UNREADABLE, concat, jsonl, to_columns
from .stores import DataUnavailable, Store, expand
from .types import Columns

Locate = Callable[[str], tuple[Store, str]]

PATH_KINDS = ("file", "folder", "pattern")
HEADERS = ("all_files_same_headers", "all_files_different_headers", "from_first_file", "no_header")
READ_OPTIONS: dict[str, tuple[str, ...]] = {
    "read_delimited": (
        "delimiter",
        "header",
        "encoding",
        "empty_as_string",
        "include_path_column",
        "support_multi_line",
        "infer_column_types",
    ),
    "read_parquet": ("include_path_column",),
    "read_json_lines": ("include_path_column", "invalid_lines", "encoding"),
}
STEPS = ("take", "skip", "keep_columns", "drop_columns")
TOP_LEVEL = ("$schema", "type", "paths", "transformations", "traits")  # traits only describe columns
SUPPORTED = (
    f"paths ({', '.join(PATH_KINDS)}); transformations {', '.join(READ_OPTIONS)} (first), then "
    f"{', '.join(STEPS)}"
)


@dataclass(frozen=True)
class Read:
    """The read transformation with its options checked."""

    kind: str
    delimiter: str = ","
    header: str = "all_files_same_headers"
    empty_as_string: bool = False
    multi_line: bool = False
    include_path: bool = False
    drop_invalid_lines: bool = False


@dataclass(frozen=True)
class Plan:
    paths: tuple[tuple[str, str], ...]  # (file | folder | pattern, as written)
    read: Read
    steps: tuple[tuple[str, Any], ...] = field(default=())


class MLTableSource:
    def __init__(self, store: Store, path: str, locate: Locate) -> None:
        """``path``: the MLTable folder, or the ``MLTable`` file in it; ``locate`` opens URIs in ``paths``."""
        path = path.rstrip("/")
        self.file = path if posixpath.basename(path) == "MLTable" else posixpath.join(path, "MLTable")
        self.folder = posixpath.dirname(self.file)
        self.store, self.locate = store, locate
        self.where = f"MLTable {store.describe(self.file)}"

    def plan(self) -> Plan:
        """The MLTable file read and checked (``DataUnavailable`` naming what is not supported)."""
        return parse_plan(self._document(), self.where)

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        plan = self.plan()
        table = concat(list(self._tables(plan)), self.where)
        for key, value in plan.steps:
            table = _step(table, key, value, self.where)
        return to_columns(table)

    def _document(self) -> Any:
        raw = self.store.read(self.file)
        try:
            return yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise DataUnavailable(f"{self.where}: not valid YAML: {exc}") from exc

    def files(self, plan: Plan) -> Iterator[tuple[Store, str]]:
        """Each data file the plan names, in order, with its store (``paths`` may name other stores)."""
        for kind, written in plan.paths:
            if "://" in written:
                store, path = self.locate(written)
            else:
                store, path = self.store, posixpath.normpath(posixpath.join(self.folder, written))
                inside = posixpath.normpath(self.folder)
                if inside not in ("", ".", "/") and path != inside and not path.startswith(inside + "/"):
                    # The folder is what the ModelDeploymentPolicy granted; "../" would read beside it.
                    raise DataUnavailable(
                        f"{self.where}: {kind} {written!r} leaves the MLTable folder; use a path inside it "
                        "or a full URI (which the policy checks)"
                    )
            if kind == "file":
                names = [path]
            else:
                names = [n for n in expand(store, path) if not _hidden(n)]
                if not names:
                    raise DataUnavailable(f"{self.where}: no files at {kind} {written!r}")
            for name in names:
                yield store, name

    def _tables(self, plan: Plan) -> Iterator[pa.Table]:
        header: list[str] | None = None  # the first file's, for the headers modes that share it
        total = 0
        for count, (store, name) in enumerate(self.files(plan), start=1):
            where = store.describe(name)
            # The same caps as a plain folder's window: paths and patterns must not read more in sum.
            if count > MAX_DATA_FILES:
                raise LimitExceeded(
                    f"{self.where}: more than {MAX_DATA_FILES} data files, the operator's limit"
                )
            data = store.read(name)
            total += len(data)
            check_size(total, MAX_DATA_TOTAL, f"{self.where}: the data files of one window (up to {where})")
            try:
                table, names = _read(plan.read, data, header)
            except UNREADABLE as exc:
                raise DataUnavailable(f"{self.where}: unreadable data at {where}: {exc}") from exc
            header = header or names
            if plan.read.include_path:
                table = table.append_column("Path", pa.array([where] * table.num_rows, pa.string()))
            yield table


def _hidden(name: str) -> bool:
    """The MLTable file itself and Spark/Hadoop bookkeeping (_SUCCESS, .crc) are not data."""
    base = posixpath.basename(name)
    return base == "MLTable" or base.startswith((".", "_"))


def _read(read: Read, data: bytes, header: list[str] | None) -> tuple[pa.Table, list[str]]:
    """One file as a table, and its column names (the header later files share, by header mode)."""
    if read.kind == "read_parquet":
        table = pq.read_table(pa.BufferReader(data))
    elif read.kind == "read_json_lines":
        table = jsonl(data, skip_invalid=read.drop_invalid_lines, envelopes=False)
    else:
        shared = read.header in ("all_files_same_headers", "from_first_file") and header is not None
        options = pacsv.ReadOptions(
            column_names=header if shared else None,
            # all_files_same_headers: later files repeat the header; from_first_file: they start with data.
            skip_rows=1 if shared and read.header == "all_files_same_headers" else 0,
            autogenerate_column_names=read.header == "no_header",
        )
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=options,
            parse_options=pacsv.ParseOptions(delimiter=read.delimiter, newlines_in_values=read.multi_line),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=not read.empty_as_string),
        )
        if read.header == "no_header":  # Azure ML's names for headerless columns
            table = table.rename_columns([f"Column{i + 1}" for i in range(table.num_columns)])
    return table, table.column_names


def _step(table: pa.Table, key: str, value: Any, where: str) -> pa.Table:
    if key == "take":
        return table.slice(0, value)
    if key == "skip":
        return table.slice(value)
    missing = [c for c in value if c not in table.column_names]
    if missing:
        raise DataUnavailable(f"{where}: {key} names columns not in the data: {missing}")
    return table.select(value) if key == "keep_columns" else table.drop_columns(value)


def parse_plan(doc: Any, where: str) -> Plan:
    """The MLTable document checked against what this reader supports; raises ``DataUnavailable`` naming
    the first unsupported key."""
    if not isinstance(doc, Mapping):
        raise DataUnavailable(f"{where}: expected a YAML mapping with paths and transformations")
    for key in doc:
        if key not in TOP_LEVEL:
            _unsupported(where, f"top-level key {key!r}")
    if doc.get("type", "mltable") != "mltable":
        raise DataUnavailable(f"{where}: type must be mltable, not {doc['type']!r}")
    paths = tuple(_single(entry, where, "paths") for entry in _list(doc.get("paths"), where, "paths"))
    for kind, value in paths:
        if kind not in PATH_KINDS:
            _unsupported(where, f"paths entry {kind!r}")
        if not isinstance(value, str) or not value:
            raise DataUnavailable(f"{where}: paths {kind} must be a non-empty string, not {value!r}")
    if not paths:
        raise DataUnavailable(f"{where}: paths is empty")
    listed = _list(doc.get("transformations"), where, "transformations")
    transformations = [_single(t, where, "transformations") for t in listed]
    if not transformations or transformations[0][0] not in READ_OPTIONS:
        raise DataUnavailable(
            f"{where}: the first transformation must be one of {', '.join(READ_OPTIONS)} "
            f"(supported: {SUPPORTED})"
        )
    read = _read_options(*transformations[0], where)
    steps = tuple(_checked_step(key, value, where) for key, value in transformations[1:])
    return Plan(paths, read, steps)


def _unsupported(where: str, what: str) -> NoReturn:
    raise DataUnavailable(f"{where}: unsupported {what}; the operator reads {SUPPORTED}")


def _list(value: Any, where: str, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataUnavailable(f"{where}: {key} must be a list")
    return value


def _single(entry: Any, where: str, key: str) -> tuple[str, Any]:
    """A list item like ``- file: ./a.csv`` or ``- take: 5`` (a bare ``- read_parquet`` has no options)."""
    if isinstance(entry, str):
        return entry, None
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise DataUnavailable(f"{where}: each {key} item must have exactly one key, not {entry!r}")
    ((k, v),) = entry.items()
    return str(k), v


def _read_options(kind: str, options: Any, where: str) -> Read:
    options = {} if options is None else options
    if not isinstance(options, Mapping):
        raise DataUnavailable(f"{where}: {kind} takes a mapping of options, not {options!r}")
    allowed = READ_OPTIONS[kind]
    for key in options:
        if key not in allowed:
            raise DataUnavailable(
                f"{where}: {kind} option {key!r} is not supported (supported: {', '.join(allowed)})"
            )
    encoding = options.get("encoding", "utf8")
    if encoding != "utf8":
        raise DataUnavailable(f"{where}: {kind} encoding {encoding!r} is not supported (supported: utf8)")
    if options.get("infer_column_types", True) is not True:
        raise DataUnavailable(
            f"{where}: read_delimited infer_column_types {options['infer_column_types']!r} is not supported "
            "(supported: true; drift tests need numbers read as numbers)"
        )
    header = options.get("header", "all_files_same_headers")
    if header not in HEADERS:
        raise DataUnavailable(f"{where}: read_delimited header {header!r} is not one of {', '.join(HEADERS)}")
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise DataUnavailable(
            f"{where}: read_delimited delimiter {delimiter!r} is not supported (supported: one character)"
        )
    invalid = options.get("invalid_lines", "error")
    if invalid not in ("error", "drop"):
        raise DataUnavailable(f"{where}: read_json_lines invalid_lines {invalid!r} is not one of error, drop")
    flags = {
        k: options.get(k, False) for k in ("empty_as_string", "support_multi_line", "include_path_column")
    }
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise DataUnavailable(f"{where}: {kind} {key} must be true or false, not {value!r}")
    return Read(
        kind,
        delimiter=delimiter,
        header=header,
        empty_as_string=flags["empty_as_string"],
        multi_line=flags["support_multi_line"],
        include_path=flags["include_path_column"],
        drop_invalid_lines=invalid == "drop",
    )


def _checked_step(key: str, value: Any, where: str) -> tuple[str, Any]:
    if key in READ_OPTIONS:
        raise DataUnavailable(f"{where}: only the first transformation may read files; {key} comes later")
    if key not in STEPS:
        _unsupported(where, f"transformation {key!r}")
    if key in ("take", "skip"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise DataUnavailable(f"{where}: {key} needs a row count (an integer >= 0), not {value!r}")
        return key, value
    columns = [value] if isinstance(value, str) else value
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise DataUnavailable(f"{where}: {key} needs a column name or a list of them, not {value!r}")
    return key, columns
