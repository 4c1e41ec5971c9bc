"""Where data files live, behind two calls: list the names under a path, read one. A local directory and a
Blob / ADLS Gen2 container look the same to the readers (plain files, the data collector's hour folders,
MLTable folders), so each reader is written once.

Paths are folder-like in both stores: ``a/b`` names the object ``a/b`` or everything under ``a/b/``, never
``a/bc``. Each store turns its own I/O errors into ``DataUnavailable`` naming what could not be read.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from modeldeploy.caps import MAX_DATA_FILE, check_size, read_capped

GLOB_CHARS = frozenset("*?[")


class DataUnavailable(Exception):
    """The window could not be read; the message says what and where."""


class Store(Protocol):
    def list(self, path: str) -> list[str]:
        """Names of the objects at or under ``path``, sorted; empty when there is none."""
        ...

    def read(self, name: str) -> bytes: ...

    def describe(self, path: str) -> str:
        """``path`` as a person would look it up (for messages)."""
        ...


def _under(name: str, path: str) -> bool:
    folder = path.rstrip("/")
    return not folder or name == folder or name.startswith(folder + "/")


class LocalStore:
    """The operator's file system; names are absolute paths, spelled from the ``path`` they were listed under
    (``/a/.//b`` lists ``/a/.//b/x``, as a Blob listing keeps its prefix), so readers can match and cut names
    against the path they asked for.

    ``root``: only files whose real path (symlinks and ``..`` resolved) lies under it are listed or read.
    The operator's file system holds its service-account and Azure tokens; a ModelDeployment may only reach
    the data root the operator was started with. ``guard``: the policy, asked again (``file://`` and the
    real path, spelled under ``root`` as given) when a link led a read somewhere other than the path asked:
    a link in one team's granted folder must not read another's."""

    def __init__(self, root: str | None = None, guard: Callable[[str], str | None] | None = None) -> None:
        self.root = None if root is None else os.path.realpath(root)
        self.given = None if root is None else os.path.abspath(root)
        self.guard = guard

    def check(self, name: str) -> None:
        if self.root is None or self.given is None:
            return
        real = os.path.realpath(name)
        if real != self.root and not real.startswith(self.root.rstrip("/") + "/"):
            raise DataUnavailable(f"{name} is outside the operator's data root {self.root}")
        seen = os.path.normpath(os.path.join(self.given, os.path.relpath(real, self.root)))
        if self.guard is not None and seen != os.path.abspath(name):
            refused = self.guard("file://" + seen)
            if refused is not None:
                raise DataUnavailable(f"{name} is a link: {refused}")

    def list(self, path: str) -> list[str]:
        self.check(path)
        p = Path(path)
        try:
            if p.is_file():
                return [path]
            if p.is_dir():
                prefix = path.rstrip("/")
                return sorted(f"{prefix}/{f.relative_to(p).as_posix()}" for f in p.rglob("*") if f.is_file())
        except OSError as exc:
            raise DataUnavailable(f"cannot list {path}: {exc}") from exc
        return []

    def read(self, name: str) -> bytes:
        self.check(name)
        try:
            with open(name, "rb") as f:
                check_size(os.fstat(f.fileno()).st_size, MAX_DATA_FILE, f"data file {name}")
                return read_capped(f, MAX_DATA_FILE, f"data file {name}")
        except OSError as exc:
            raise DataUnavailable(f"cannot read {name}: {exc}") from exc

    def describe(self, path: str) -> str:
        return path


class ContainerClient(Protocol):
    """The two calls of azure.storage.blob.ContainerClient the readers use."""

    def list_blobs(self, name_starts_with: str | None = None, **kwargs: Any) -> Iterable[Any]: ...
    def download_blob(self, blob: str, **kwargs: Any) -> Any: ...


@functools.cache
def operator_credential() -> Any:
    """The operator's identity for data reads (workload identity in AKS, ``az login`` locally); one per
    process, so its token cache serves every client."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


@functools.lru_cache(maxsize=64)
def container_client(account_url: str, container: str) -> ContainerClient:
    """The real client, authenticated as the operator's identity (workload identity in AKS). Kept per
    container: the analysis reads the same ones every interval, and one credential keeps its token."""
    from azure.storage.blob import ContainerClient as BlobContainerClient

    client: ContainerClient = BlobContainerClient(account_url, container, credential=operator_credential())
    return client


class BlobStore:
    """One Blob container (or ADLS Gen2 file system, through its Blob endpoint); names are blob names."""

    def __init__(self, client: ContainerClient, location: str = "") -> None:
        """``location``: ``https://<account>.blob.core.windows.net/<container>``, for messages."""
        self.client, self.location = client, location.rstrip("/")
        self.sizes: dict[str, int] = {}  # from the last listing: whether a window is too large to read

    def list(self, path: str) -> list[str]:
        from azure.core.exceptions import AzureError

        path = path.lstrip("/")
        try:
            blobs = list(self.client.list_blobs(name_starts_with=path or None))
            names = [str(b.name) for b in blobs]
            self.sizes.update((str(b.name), int(getattr(b, "size", 0) or 0)) for b in blobs)
        except AzureError as exc:
            raise DataUnavailable(f"cannot list {self.describe(path)}: {type(exc).__name__}: {exc}") from exc
        # Folder markers (ADLS Gen2 directories seen through the Blob API) hold no data.
        return sorted(n for n in names if _under(n, path) and not n.endswith("/"))

    def read(self, name: str) -> bytes:
        from azure.core.exceptions import AzureError

        what = f"data file {self.describe(name)}"
        try:
            download = self.client.download_blob(name)
            check_size(getattr(download, "size", None), MAX_DATA_FILE, what)  # known before any byte
            data = bytes(download.readall())
        except AzureError as exc:
            raise DataUnavailable(f"cannot read {self.describe(name)}: {type(exc).__name__}: {exc}") from exc
        check_size(len(data), MAX_DATA_FILE, what)
        return data

    def describe(self, path: str) -> str:
        return f"{self.location}/{path.lstrip('/')}" if self.location else f"blob {path!r}"


def expand(store: Store, pattern: str) -> list[str]:
    """Names matching a glob (``*``, ``?``, ``[a-z]`` within one path segment, like ``glob.glob``), or at or
    under a plain path. Only the part before the first wildcard is listed."""
    parts = pattern.split("/")
    first = next((i for i, p in enumerate(parts) if GLOB_CHARS & set(p)), None)
    if first is None:
        return store.list(pattern)
    base = "/".join(parts[:first])
    return [
        name
        for name in store.list(base + "/" if base else "")
        if len(name.split("/")) == len(parts)
        and all(fnmatch.fnmatchcase(n, p) for n, p in zip(name.split("/"), parts, strict=True))
    ]
