"""Finding 1: ``file://`` data URIs read the operator's own file system (its service-account and Azure tokens
live there), and parser errors carried file contents into the status. Now file:// is refused unless the
operator was started with a data root, and nothing outside that root is listed or read, through symlinks
and globs included."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modeldeploy.analysis.stores import DataUnavailable, LocalStore
from modeldeploy.analysis.uris import Locator, source_for

SECRET = "root:x:0:0:the operator's token would be here"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "token.csv"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n1,2\n")
    return secret


def _load(uri: str, locator: Locator) -> None:
    source_for(uri, "csv", locator=locator).load(None, datetime.now(UTC))


def test_without_a_data_root_file_uris_are_refused_before_any_read(outside: Path) -> None:
    with pytest.raises(DataUnavailable) as info:
        _load(f"file://{outside}", Locator())
    assert "file:// data URIs are off" in str(info.value)
    assert "--data-root" in str(info.value)
    assert "root:x" not in str(info.value)


def test_a_path_outside_the_root_is_refused_even_spelled_with_dotdot(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DataUnavailable, match="outside the operator's data root"):
        _load(f"file://{root}/../outside/token.csv", Locator(data_root=str(root)))


def test_a_symlink_or_a_glob_through_one_cannot_leave_the_root(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "link.csv").symlink_to(outside)
    (root / "dir").symlink_to(outside.parent, target_is_directory=True)
    locator = Locator(data_root=str(root))
    for uri in (f"file://{root}/link.csv", f"file://{root}/dir/token.csv", f"file://{root}/*.csv"):
        with pytest.raises(DataUnavailable) as info:
            _load(uri, locator)
        assert "outside the operator's data root" in str(info.value), uri
        assert "root:x" not in str(info.value)
    with pytest.raises(DataUnavailable) as info:  # a glob over a linked folder finds nothing to read
        _load(f"file://{root}/*/token.csv", locator)
    assert "root:x" not in str(info.value)


def test_inside_the_root_files_are_read(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "ref").mkdir(parents=True)
    (root / "ref" / "a.csv").write_text("x\n1\n2\n")
    cols = source_for(f"file://{root}/ref/", "csv", locator=Locator(data_root=str(root))).load(None, None)
    assert list(cols["x"]) == [1, 2]


def test_the_store_itself_checks_every_read(tmp_path: Path, outside: Path) -> None:
    store = LocalStore(str(tmp_path / "data"))
    os.makedirs(tmp_path / "data")
    with pytest.raises(DataUnavailable, match="outside the operator's data root"):
        store.read(str(outside))
    assert LocalStore().read(str(outside)).startswith(b"root:x")  # no root: a library user's own choice
