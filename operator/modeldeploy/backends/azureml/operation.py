"""In-flight long-running operations: a small record that survives an operator restart.

The record is written twice: into the deployment's tags when the operation starts (so Azure itself holds
it) and into ``RevisionState.operation`` (so the operator can show it in status). After a restart the backend
reads the tags back and polls ``provisioning_state`` instead of starting the operation again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from modeldeploy.api.azure_names import TAG_SPEC_HASH, TAG_STARTED_AT

IN_PROGRESS = {"creating", "updating", "deleting", "scaling", "provisioning", "accepted", "running"}


def provisioning(entity: object) -> str:
    """``provisioning_state`` as text (the SDK returns str enums such as DeploymentProvisioningState)."""
    state = getattr(entity, "provisioning_state", None)
    return str(getattr(state, "value", state) or "")


@dataclass(frozen=True)
class Operation:
    kind: str  # "create" | "update"
    deployment: str
    spec_hash: str
    started_at: datetime

    def to_record(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "deployment": self.deployment,
            "specHash": self.spec_hash,
            "startedAt": self.started_at.isoformat(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> Operation:
        return cls(
            kind=record["kind"],
            deployment=record["deployment"],
            spec_hash=record["specHash"],
            started_at=datetime.fromisoformat(record["startedAt"]),
        )

    @classmethod
    def from_tags(cls, deployment: str, tags: Mapping[str, str], state: str) -> Operation | None:
        """The operation a deployment is in, if its provisioning state says it is still running."""
        started = tags.get(TAG_STARTED_AT)
        if state.lower() not in IN_PROGRESS or not started:
            return None
        kind = "create" if state.lower() == "creating" else "update"
        return cls(kind, deployment, tags.get(TAG_SPEC_HASH, ""), datetime.fromisoformat(started))

    def overdue(self, now: datetime, timeout: timedelta) -> bool:
        return now - self.started_at > timeout
