"""``format: mltable``: MLTable folders on disk and in Blob, their paths and read transformations, and the
messages for what the reader does not support (given before any data file is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modeldeploy.analysis.sources import DataUnavailable
from modeldeploy.analysis.types import Columns
from modeldeploy.analysis.uris import Locator, source_for
from tests.analysis.blob_fakes import Containers, FakeContainer, parquet_bytes

ACCOUNT = "https://kdapdata.blob.core.windows.net"
SUPPORTED = (
    "the operator reads paths (file, folder, pattern); transformations read_delimited, read_parquet, "
    "read_json_lines (first), then take, skip, keep_columns, drop_columns"
)


def _mltable(folder: Path, text: str, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLTable").write_text(text)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            (folder / name).write_bytes(data)
        else:
            (folder / name).write_text(data)
    return folder


def _load(folder: Path) -> Columns:
    return source_for(f"file://{folder}", "mltable", locator=Locator(data_root="/")).load(None, None)


def test_delimited_pattern_with_shared_headers_then_columns_and_take(tmp_path: Path) -> None:
    folder = _mltable(
        tmp_path / "ref",
        """
$schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json
type: mltable
paths:
  - pattern: ./data/*.csv
transformations:
  - read_delimited:
      delimiter: ";"
      header: all_files_same_headers
      encoding: utf8
      empty_as_string: false
  - keep_columns: [amount, merchant]
  - take: 3
""",
        {
            "data/a.csv": "amount;merchant;note\n1.5;grocery;x\n2.5;;y\n",
            "data/b.csv": "amount;merchant;note\n3.5;travel;z\n4.5;travel;w\n",
            "data/skipped.txt": "amount;merchant\n999;nope\n",  # does not match the pattern
            "data/nested/c.csv": "amount;merchant;note\n999;deeper;q\n",  # * stays in one folder
        },
    )
    cols = _load(folder)
    assert list(cols) == ["amount", "merchant"]
    assert list(cols["amount"]) == [1.5, 2.5, 3.5]  # b.csv's header line was not read as a row
    assert isinstance(cols["merchant"], pa.ChunkedArray)
    assert cols["merchant"].to_pylist() == ["grocery", None, "travel"]  # empty is missing, not ""


@pytest.mark.parametrize(
    ("header", "first", "columns", "rows"),
    [
        ("from_first_file", "a,b\n1,2\n", ["a", "b"], [[1, 2], [3, 4], [5, 6]]),  # b.csv is all data
        ("no_header", "0,1\n1,2\n", ["Column1", "Column2"], [[0, 1], [1, 2], [3, 4], [5, 6]]),
        ("all_files_different_headers", "a,b\n1,2\n", ["a", "b", "3", "4"], None),
    ],
)
def test_header_modes(tmp_path: Path, header: str, first: str, columns: list[str], rows: object) -> None:
    text = f"paths: [file: a.csv, file: b.csv]\ntransformations: [read_delimited: {{header: {header}}}]"
    cols = _load(_mltable(tmp_path / "t", text, {"a.csv": first, "b.csv": "3,4\n5,6\n"}))
    assert list(cols) == columns
    if rows is not None:
        assert _rows(cols) == rows


def _rows(cols: Columns) -> list[list[object]]:
    lists = [c.tolist() if isinstance(c, np.ndarray) else c.to_pylist() for c in cols.values()]
    return [list(r) for r in zip(*lists, strict=True)]


def test_empty_as_string_keeps_empty_strings(tmp_path: Path) -> None:
    text = "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {empty_as_string: true}}]\n"
    folder = _mltable(tmp_path / "t", text, {"a.csv": "x,c\n1,\n2,b\n"})
    assert _load(folder)["c"].to_pylist() == ["", "b"]


def test_parquet_folder_skips_bookkeeping_files_and_keeps_paths(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    parts = tmp_path / "t" / "parts"
    parts.mkdir(parents=True)
    for i in range(2):
        pq.write_table(pa.table({"x": rng.normal(size=4), "drop_me": [i] * 4}), parts / f"part-{i}.parquet")
    folder = _mltable(
        tmp_path / "t",
        """
paths:
  - folder: ./parts/
transformations:
  - read_parquet:
      include_path_column: true
  - drop_columns: drop_me
  - skip: 1
""",
        {"parts/_SUCCESS": "", "parts/.part-0.parquet.crc": "crc"},
    )
    cols = _load(folder)
    assert list(cols) == ["x", "Path"]
    assert len(cols["x"]) == 7
    assert cols["Path"].to_pylist()[-1] == f"{parts}/part-1.parquet"


def test_json_lines_drop_invalid_lines_and_keep_a_data_field_as_is(tmp_path: Path) -> None:
    lines = '{"x": 1, "data": [1, 2]}\nnot json\n{"x": 2, "data": [3]}\n'
    text = "paths: [{file: rows.jsonl}]\ntransformations: [{read_json_lines: {invalid_lines: drop}}]\n"
    cols = _load(_mltable(tmp_path / "t", text, {"rows.jsonl": lines}))
    assert list(cols["x"]) == [1.0, 2.0]
    assert cols["data"].to_pylist() == [[1, 2], [3]]  # not the data collector's envelope


def test_blob_mltable_with_relative_and_absolute_paths() -> None:
    here = FakeContainer(
        {
            "tables/ref/MLTable": b"paths:\n  - file: ./local.parquet\n"
            b"  - file: abfss://curated@kdapdata.dfs.core.windows.net/shared/more.parquet\n"
            b"transformations:\n  - read_parquet\n",
            "tables/ref/local.parquet": parquet_bytes(pa.table({"x": [1.0, 2.0]})),
        }
    )
    curated = FakeContainer({"shared/more.parquet": parquet_bytes(pa.table({"x": [3.0]}))})
    locator = Locator(make_client=Containers({(ACCOUNT, "training"): here, (ACCOUNT, "curated"): curated}))
    uri = "https://kdapdata.blob.core.windows.net/training/tables/ref/"
    cols = source_for(uri, "mltable", locator=locator).load(None, None)
    assert list(cols["x"]) == [1.0, 2.0, 3.0]
    assert here.downloads == ["tables/ref/MLTable", "tables/ref/local.parquet"]
    assert curated.downloads == ["shared/more.parquet"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "paths: [{file: a.csv}]\ntransformations:\n  - read_delimited: {}\n"
            "  - convert_column_types: [{columns: a, column_type: int}]\n",
            "unsupported transformation 'convert_column_types'; " + SUPPORTED,
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {skip_lines: 2}}]\n",
            "read_delimited option 'skip_lines' is not supported (supported: delimiter, header, encoding, "
            "empty_as_string, include_path_column, support_multi_line, infer_column_types)",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {encoding: latin1}}]\n",
            "read_delimited encoding 'latin1' is not supported (supported: utf8)",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {delimiter: '||'}}]\n",
            "read_delimited delimiter '||' is not supported (supported: one character)",
        ),
        (
            "paths: [{folder: ./delta}]\ntransformations: [{read_delta_lake: {version_as_of: 3}}]\n",
            "the first transformation must be one of read_delimited, read_parquet, read_json_lines "
            "(supported: paths (file, folder, pattern); transformations read_delimited, read_parquet, "
            "read_json_lines (first), then take, skip, keep_columns, drop_columns)",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [read_parquet, {take: -1}]\n",
            "take needs a row count (an integer >= 0), not -1",
        ),
        (
            "paths: [{url: https://example.com/a.csv}]\ntransformations: [read_parquet]\n",
            "unsupported paths entry 'url'; " + SUPPORTED,
        ),
        (
            "metadata: {owner: ml}\npaths: [{file: a.csv}]\n",
            "unsupported top-level key 'metadata'; " + SUPPORTED,
        ),
        ("paths: [{file: a.csv}\n", "not valid YAML"),
    ],
)
def test_unsupported_mltables_are_refused_before_reading_data(text: str, message: str) -> None:
    container = FakeContainer({"ref/MLTable": text.encode(), "ref/a.csv": b"a\n1\n"})
    locator = Locator(make_client=Containers({(ACCOUNT, "training"): container}))
    src = source_for(f"{ACCOUNT}/training/ref", "mltable", locator=locator)
    with pytest.raises(DataUnavailable) as err:
        src.load(None, None)
    assert str(err.value).startswith(f"MLTable {ACCOUNT}/training/ref/MLTable: {message}")
    assert container.downloads == ["ref/MLTable"]


def test_missing_files_and_columns_say_which(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match=r"^cannot read .*/none/MLTable: \[Errno 2\]"):
        _load(tmp_path / "none")
    text = "paths: [{pattern: ./*.parquet}]\ntransformations: [read_parquet]\n"
    with pytest.raises(DataUnavailable, match=r"^MLTable .*/t/MLTable: no files at pattern './\*\.parquet'$"):
        _load(_mltable(tmp_path / "t", text, {}))
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "t" / "a.parquet")
    text += "  - keep_columns: [x, amount]\n"
    with pytest.raises(DataUnavailable, match=r"keep_columns names columns not in the data: \['amount'\]$"):
        _load(_mltable(tmp_path / "t", text.replace("[read_parquet]", "\n  - read_parquet"), {}))


def test_an_mltable_window_is_capped_in_sum_like_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file under the per-file cap, but paths and patterns together past the window's total (or its
    file count): refused naming the cap, before the rest is read."""
    from modeldeploy.analysis import mltable
    from modeldeploy.caps import LimitExceeded

    text = "paths: [{pattern: ./*.csv}, {file: ./a.csv}]\ntransformations: [{read_delimited: {}}]\n"
    folder = _mltable(tmp_path / "big", text, {f"{i}.csv": "x\n" + "1.0\n" * 300 for i in "abcd"})
    assert len(_load(folder)["x"]) == 1500  # a.csv twice, as written
    monkeypatch.setattr(mltable, "MAX_DATA_TOTAL", 3000)
    with pytest.raises(
        LimitExceeded, match=r"\(up to .*/big/c\.csv\) is 4 KiB, larger than 3 KiB, the operator"
    ):
        _load(folder)
    monkeypatch.setattr(mltable, "MAX_DATA_TOTAL", 1 << 30)
    monkeypatch.setattr(mltable, "MAX_DATA_FILES", 4)
    with pytest.raises(LimitExceeded, match=r"/big/MLTable: more than 4 data files, the operator's limit$"):
        _load(folder)


def test_json_lines_files_typing_a_column_int_and_float_are_read_as_floats(tmp_path: Path) -> None:
    """Each JSON-lines file is typed by its own values; a file of whole numbers beside one of decimals was
    refused ('files disagree on columns') where Spark reads the table as doubles."""
    text = "paths: [{pattern: ./*.jsonl}]\ntransformations: [read_json_lines]\n"
    folder = _mltable(tmp_path / "t", text, {"a.jsonl": '{"x": 1}\n{"x": 2}\n', "b.jsonl": '{"x": 0.5}\n'})
    assert _load(folder)["x"].tolist() == [1.0, 2.0, 0.5]  # type: ignore[union-attr]
