"""Data sources from the spec's URIs: local files, Azure Blob / ADLS Gen2 paths and Azure ML datastores.

``{namespace}``, ``{name}``, ``{revision}``, ``{endpoint}`` and ``{deployment}`` in a URI are filled in per
analysis, so one spec can point at per-revision folders (e.g. what a data collector writes for each
deployment).

A URI is checked when the source is built (an unreadable one becomes ``Unavailable`` at once) and opened on
every load, so a datastore that cannot be resolved now (Azure down, a missing role) makes this analysis
Inconclusive and the next one tries again, rather than being remembered with the cached drift analyzer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from .datastores import FORMS, AzureMLDatastores, DatastorePath, DatastoreResolver, Workspace, parse
from .mltable import MLTableSource
from .sources import DataCollectorSource, DataSource, StoreSource, is_collector_folder
from .stores import BlobStore, ContainerClient, DataUnavailable, LocalStore, Store, container_client
from .types import Columns

ClientFactory = Callable[[str, str], ContainerClient]
Guard = Callable[[str], "str | None"]  # a URI -> why the platform's policy refuses it (None: granted)
_ADLS = re.compile(
    r"^(abfss|wasbs)://(?P<container>[^@/]+)@(?P<account>[^./]+)\.(dfs|blob)\.core\.windows\.net/(?P<path>.*)$"
)
_HTTPS_ACCOUNT = re.compile(r"^(?P<account>[^./]+)\.(blob|dfs)\.core\.windows\.net$")


class Unavailable:
    """A source that cannot be read here; every load says why, so the analysis is Inconclusive, not wrong."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        raise DataUnavailable(self.reason)


@dataclass(frozen=True)
class LocalPath:
    path: str


@dataclass(frozen=True)
class BlobPath:
    account_url: str
    container: str
    path: str


Location = LocalPath | BlobPath | DatastorePath


@functools.cache
def shared_datastores() -> AzureMLDatastores:
    """One resolver (and cache) for every source built without one."""
    return AzureMLDatastores()


class Locator:
    """Turns data URIs into a store and a path in it. ``workspace``: where short ``azureml://datastores/``
    URIs are resolved (the azureml target's); None for Kubernetes targets."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        datastores: DatastoreResolver | None = None,
        make_client: ClientFactory = container_client,
        data_root: str | None = None,
        guard: Guard | None = None,
    ) -> None:
        """``data_root``: the one local directory ``file://`` URIs may name (None: none may). ``guard``: the
        ModelDeploymentPolicy check, asked for every URI, also those only found inside data (MLTable
        ``paths``), which the check of the spec cannot see."""
        self.workspace, self._datastores, self.make_client = workspace, datastores, make_client
        self.data_root, self.guard = data_root, guard

    @property
    def datastores(self) -> DatastoreResolver:
        return self._datastores if self._datastores is not None else shared_datastores()

    def parse(self, uri: str) -> Location:
        """Raises ``DataUnavailable`` for a URI the operator cannot read, whatever Azure says."""
        refused = self.guard(uri) if self.guard is not None else None
        if refused is not None:
            raise DataUnavailable(refused)
        try:
            return self._parse(uri)
        except ValueError as exc:  # urlparse on what the API's pattern lets through, e.g. "https://]"
            raise DataUnavailable(f"{uri}: not a valid URI ({exc})") from exc

    def _parse(self, uri: str) -> Location:
        if uri.startswith("file://"):
            if self.data_root is None:
                raise DataUnavailable(
                    f"{uri}: file:// data URIs are off; the operator reads local files only under the "
                    "directory it was started with (--data-root); use Blob, ADLS or azureml:// URIs"
                )
            path = urlparse(uri).path
            LocalStore(self.data_root, self.guard).check(re.split(r"[*?\[]", path, maxsplit=1)[0] or "/")
            return LocalPath(path)
        m = _ADLS.match(uri)
        if m:
            return BlobPath(f"https://{m['account']}.blob.core.windows.net", m["container"], m["path"])
        if uri.startswith("https://"):
            parsed = urlparse(uri)
            container, _, path = parsed.path.lstrip("/").partition("/")
            account = _HTTPS_ACCOUNT.match(parsed.netloc)
            if account is None or not container:
                raise DataUnavailable(
                    f"{uri}: an https data URI must be https://<account>.blob.core.windows.net/<container>/<path>"
                )
            return BlobPath(f"https://{account['account']}.blob.core.windows.net", container, path)
        if uri[:10].lower() == "azureml://":
            found = parse(uri)
            if found.workspace is None and self.workspace is None:
                raise DataUnavailable(
                    f"{uri}: a short azureml://datastores/ URI is resolved in the azureml target's "
                    "workspace, and this ModelDeployment has none; use the long form azureml://subscriptions/<sub>/"
                    "resourcegroups/<rg>/workspaces/<ws>/datastores/<datastore>/paths/<path>, or the "
                    "datastore's abfss:// or https:// path"
                )
            return found
        raise DataUnavailable(
            f"{uri}: unsupported data URI; use file:///, https://, abfss://, wasbs:// or {FORMS}"
        )

    def open(self, location: Location) -> tuple[Store, str]:
        """The store and the path in it; resolving a datastore may call Azure (``DataUnavailable`` on
        failure)."""
        if isinstance(location, LocalPath):
            return LocalStore(self.data_root, self.guard), location.path
        if isinstance(location, BlobPath):
            return self._blob(location.account_url, location.container), location.path
        workspace = location.workspace or self.workspace
        assert workspace is not None  # parse refused a short URI without a workspace
        found = self.datastores.resolve(workspace, location.datastore)
        return self._blob(found.account_url, found.container), location.path

    def locate(self, uri: str) -> tuple[Store, str]:
        return self.open(self.parse(uri))

    def _blob(self, account_url: str, container: str) -> BlobStore:
        return BlobStore(self.make_client(account_url, container), f"{account_url}/{container}")


def reader(store: Store, path: str, fmt: str, live: bool, locator: Locator) -> DataSource:
    """How to read ``path``: an MLTable folder, the data collector's hour folders (live data only; a
    reference there is read whole), or plain files."""
    if fmt == "mltable":
        return MLTableSource(store, path, locator.locate)
    if live and is_collector_folder(path):
        return DataCollectorSource(store, path)
    return StoreSource(store, path, fmt)


class UriSource:
    def __init__(self, locator: Locator, location: Location, fmt: str, live: bool) -> None:
        self.locator, self.location, self.fmt, self.live = locator, location, fmt, live

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        store, path = self.locator.open(self.location)
        return reader(store, path, self.fmt, self.live, self.locator).load(start, end)


def fill(uri: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        uri = uri.replace("{" + key + "}", value)
    return uri


def source_for(uri: str, fmt: str, *, live: bool = False, locator: Locator | None = None) -> DataSource:
    """``live``: the side read over a window (a data collector folder is then read by hour)."""
    locator = locator if locator is not None else Locator()
    try:
        location = locator.parse(uri)
    except DataUnavailable as exc:
        return Unavailable(str(exc))
    return UriSource(locator, location, fmt, live)
