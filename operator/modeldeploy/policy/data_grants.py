"""The data grants of the policy check: may the operator read this data URI for this namespace?

A local path, a Blob/ADLS URL or an ``azureml://datastores/`` URI is granted when a policy selecting the
namespace grants its account and container (or its workspace and datastore) and a path prefix covering it.
Pure, like the rest of the check (``check.py`` builds on this class).
"""

from __future__ import annotations

from collections.abc import Iterable

from modeldeploy.api.policy import ModelDeploymentPolicySpec, WorkspaceGrant, WorkspaceRef
from modeldeploy.policy.refs import (
    BlobRef,
    DatastoreRef,
    LocalRef,
    Unsupported,
    Workspace,
    data_ref,
    segments,
    within,
)


def listing(items: Iterable[str]) -> str:
    unique = sorted(set(items))
    return ", ".join(unique) if unique else "none"


def granted_path(text: str) -> tuple[str, ...] | None:
    """A granted path as segments; None for one this parser refuses (it then grants nothing, never all)."""
    try:
        return segments(text, text)
    except Unsupported:
        return None


def covers(path: tuple[str, ...], granted: str) -> bool:
    prefix = granted_path(granted)
    return prefix is not None and within(path, prefix)


def prefix_text(parts: tuple[str, ...]) -> str:
    return "/".join(parts) + "/" if parts else "/"


class DataGrants:
    """What ``grants`` (the policies selecting ``namespace``) allow one ModelDeployment to read."""

    namespace: str
    name: str
    grants: list[ModelDeploymentPolicySpec]
    target: Workspace | None

    def denied(self, what: str, granted: Iterable[str]) -> str:
        return (
            f'{what} is not granted to namespace "{self.namespace}" by any ModelDeploymentPolicy '
            f"(granted: {listing(granted)})"
        )

    def data(self, uri: str) -> str | None:
        filled = uri.replace("{namespace}", self.namespace).replace("{name}", self.name)
        try:
            ref = data_ref(filled)
        except Unsupported as exc:
            return str(exc)
        if isinstance(ref, LocalRef):
            return self._local(ref)
        if isinstance(ref, BlobRef):
            return self._blob(ref)
        return self._datastore(ref)

    def _local(self, ref: LocalRef) -> str | None:
        granted = [p for g in self.grants for p in g.local_paths]
        if any(covers(ref.path, p) for p in granted):
            return None
        return self.denied(f'local path "/{"/".join(ref.path)}"', granted)

    def _blob(self, ref: BlobRef) -> str | None:
        accounts = [s for g in self.grants for s in g.storage]
        mine = [s for s in accounts if s.account == ref.account]
        if not mine:
            return self.denied(f'storage account "{ref.account}"', (s.account for s in accounts))
        in_container = [s for s in mine if ref.container in s.containers or "*" in s.containers]
        if not in_container:
            containers = (c for s in mine for c in s.containers)
            return self.denied(f'container "{ref.container}" of storage account "{ref.account}"', containers)
        prefixes = [
            p for s in in_container for p in (s.path_prefixes if s.path_prefixes is not None else ["/"])
        ]
        if any(covers(ref.path, p) for p in prefixes):
            return None
        where = f'path "{"/".join(ref.path)}" in {ref.account}/{ref.container}'
        return self.denied(where, (prefix_text(granted_path(p) or ()) for p in prefixes))

    def _datastore(self, ref: DatastoreRef) -> str | None:
        ws = ref.workspace or self.target
        if ws is None:
            return (
                "a short azureml://datastores/ URI resolves in the azureml target's workspace and this "
                "ModelDeployment has none; use the long form naming the workspace"
            )
        grants = [g for g in self._workspaces() if workspace_of(g).key() == ws.key()]
        if not grants:
            return self.denied(
                f'Azure ML workspace "{ws}" (datastore "{ref.datastore}")',
                (str(workspace_of(g)) for g in self._workspaces()),
            )
        stores = [d for g in grants for d in g.datastores]
        mine = [d for d in stores if d.name.lower() in (ref.datastore.lower(), "*")]
        if not mine:
            return self.denied(f'datastore "{ref.datastore}" of workspace "{ws}"', (d.name for d in stores))
        prefixes = [p for d in mine for p in (d.path_prefixes if d.path_prefixes is not None else ["/"])]
        if any(covers(ref.path, p) for p in prefixes):
            return None
        where = f'path "{"/".join(ref.path)}" in datastore "{ref.datastore}" of workspace "{ws}"'
        return self.denied(where, (prefix_text(granted_path(p) or ()) for p in prefixes))

    def _workspaces(self) -> list[WorkspaceGrant]:
        return [w for g in self.grants for w in g.workspaces]


def workspace_of(grant: WorkspaceGrant | WorkspaceRef) -> Workspace:
    return Workspace(grant.subscription_id, grant.resource_group, grant.name)
