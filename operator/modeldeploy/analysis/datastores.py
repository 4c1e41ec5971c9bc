"""``azureml://`` data URIs: which storage container a workspace's datastore names.

Two URI forms, as Azure ML writes them (segment names case-insensitive):

- ``azureml://datastores/<datastore>/paths/<path>``, in the workspace of the ModelDeployment's target;
- ``azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/<datastore>/paths/<path>``.

The datastore is looked up with azure-ai-ml (``MLClient.datastores.get``) and read with the operator's own
identity through the Blob API, never with the datastore's stored secrets.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from modeldeploy.api.azure_names import Workspace as Workspace  # re-exported: this module names them

from .stores import DataUnavailable, operator_credential

# The next analysis interval retries anyway; a few SDK retries only smooth over a blip without holding up
# the reconcile for minutes (azure-core's default is 10 with backoff up to 2 minutes).
SDK_RETRIES: dict[str, Any] = {"retry_total": 2}
CACHE_SECONDS = 3600.0

_SHORT = re.compile(r"^azureml://datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)$", re.IGNORECASE)
_LONG = re.compile(
    r"^azureml://subscriptions/(?P<subscription>[^/]+)/resourcegroups/(?P<group>[^/]+)"
    r"/workspaces/(?P<workspace>[^/]+)/datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)$",
    re.IGNORECASE,
)
# The Blob endpoint suffixes of the Azure clouds (public, China, US Government). A datastore is workspace
# data anyone with write access to the workspace may edit: an endpoint elsewhere would receive the
# operator's bearer token, so nothing else is read.
STORAGE_SUFFIXES = ("core.windows.net", "core.chinacloudapi.cn", "core.usgovcloudapi.net")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")  # Azure storage account names; nothing that reshapes the URL
FORMS = (
    "azureml://datastores/<datastore>/paths/<path> (in the azureml target's workspace) or "
    "azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/<datastore>/paths/<path>"
)


@dataclass(frozen=True)
class DatastorePath:
    workspace: Workspace | None  # None: the short form, resolved in the target's workspace
    datastore: str
    path: str


@dataclass(frozen=True)
class StorageLocation:
    account_url: str  # https://<account>.blob.<endpoint suffix>
    container: str  # the Blob container, or the ADLS Gen2 file system (the same thing to the Blob API)


class DatastoreResolver(Protocol):
    def resolve(self, workspace: Workspace, datastore: str) -> StorageLocation:
        """Raises ``DataUnavailable`` naming the datastore and workspace when it cannot be resolved."""
        ...


def parse(uri: str) -> DatastorePath:
    m = _LONG.match(uri)
    if m:
        workspace = Workspace(m["subscription"], m["group"], m["workspace"])
        return DatastorePath(workspace, m["datastore"], m["path"])
    m = _SHORT.match(uri)
    if m:
        return DatastorePath(None, m["datastore"], m["path"])
    raise DataUnavailable(f"{uri}: not a datastore URI; the operator reads {FORMS}")


def storage_location(datastore: Any, workspace: Workspace) -> StorageLocation:
    """Where an azure-ai-ml datastore entity keeps its data; Blob and ADLS Gen2 only."""
    from azure.ai.ml.entities import AzureBlobDatastore, AzureDataLakeGen2Datastore

    if isinstance(datastore, AzureBlobDatastore):
        container = datastore.container_name
    elif isinstance(datastore, AzureDataLakeGen2Datastore):
        container = datastore.filesystem
    else:
        kind = getattr(datastore, "type", None)
        kind = getattr(kind, "value", kind) or type(datastore).__name__  # DatastoreType.AZURE_FILE: AzureFile
        raise DataUnavailable(
            f"datastore {datastore.name!r} in workspace {workspace.describe()} is of type {kind}; the "
            "operator reads Azure Blob and ADLS Gen2 datastores only"
        )
    # ``protocol`` (https, wasbs, abfss) is how Azure ML jobs mount it; the operator always uses HTTPS.
    suffix = str(datastore.endpoint or STORAGE_SUFFIXES[0]).lower()
    if suffix not in STORAGE_SUFFIXES:
        raise DataUnavailable(
            f"datastore {datastore.name!r} in workspace {workspace.describe()} has endpoint {suffix!r}; the "
            f"operator sends its credential only to Azure Storage ({', '.join(STORAGE_SUFFIXES)})"
        )
    account = str(datastore.account_name or "")
    if not _ACCOUNT.match(account):
        raise DataUnavailable(
            f"datastore {datastore.name!r} in workspace {workspace.describe()} names storage account "
            f"{account!r}: not a storage account name (3 to 24 lowercase letters and digits)"
        )
    return StorageLocation(f"https://{account}.blob.{suffix}", container)


def ml_datastores(workspace: Workspace, credential: Any, **sdk_kwargs: Any) -> Any:
    """``MLClient(...).datastores`` of a workspace, built on first use (never at import); ``sdk_kwargs``
    (e.g. ``transport``) reach the SDK's pipeline."""
    from azure.ai.ml import MLClient

    client = MLClient(
        credential,
        subscription_id=workspace.subscription_id,
        resource_group_name=workspace.resource_group,
        workspace_name=workspace.name,
        **(SDK_RETRIES | sdk_kwargs),
    )
    return client.datastores


class AzureMLDatastores:
    """Resolves datastores with azure-ai-ml; results are kept for ``ttl`` seconds per workspace and name
    (datastores rarely change and the analysis runs every interval). Failures are not kept: the next
    analysis asks again."""

    def __init__(
        self,
        credential: Any = None,
        operations_for: Callable[[Workspace, Any], Any] = ml_datastores,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``credential``: by default the operator's (``stores.operator_credential``), taken on first use.
        ``operations_for``: the workspace's ``DatastoreOperations``; only its ``get(name)`` is used."""
        self._credential = credential
        self._operations_for, self._ttl, self._clock = operations_for, ttl, clock
        self._operations: dict[tuple[str, str, str], Any] = {}
        self._resolved: dict[tuple[tuple[str, str, str], str], tuple[float, StorageLocation]] = {}
        self._lock = threading.Lock()  # analyses of different objects run on different threads

    def resolve(self, workspace: Workspace, datastore: str) -> StorageLocation:
        from azure.core.exceptions import AzureError

        key = (workspace.key(), datastore.lower())
        with self._lock:
            cached = self._resolved.get(key)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        try:
            found = self._operations_of(workspace).get(datastore)
        except AzureError as exc:
            raise DataUnavailable(
                f"cannot resolve datastore {datastore!r} in workspace {workspace.describe()}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        location = storage_location(found, workspace)
        with self._lock:
            self._resolved[key] = (self._clock(), location)
        return location

    def _operations_of(self, workspace: Workspace) -> Any:
        with self._lock:
            ops = self._operations.get(workspace.key())
            if ops is None:
                if self._credential is None:
                    self._credential = operator_credential()
                ops = self._operations[workspace.key()] = self._operations_for(workspace, self._credential)
            return ops
