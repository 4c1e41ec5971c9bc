"""Every resource name and tag comes from here, so a stack never drifts from its own conventions."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from kdap_infra.config import PlatformConfig
from modeldeploy.api import platform

# The model tag of what serves every model (workspace, storage, gateway...): its cost is shared.
SHARED_MODEL = "shared"

# Fixed namespace so role-assignment names are stable across runs (they must be GUIDs).
_ASSIGNMENT_NAMESPACE = uuid.UUID("5b1f0a52-3c1e-4a43-9d7a-6f0c2b8e9d11")


@dataclass(frozen=True)
class Naming:
    prefix: str
    env: str
    suffix: str
    owner: str
    cost_center: str

    @classmethod
    def of(cls, config: PlatformConfig) -> Naming:
        return cls(config.prefix, config.env, config.unique_suffix, config.owner, config.cost_center)

    def name(self, kind: str) -> str:
        """A hyphenated name for resources scoped to the resource group: `kdap-dev-<kind>`."""
        return f"{self.prefix}-{self.env}-{kind}"

    def global_name(self, kind: str, max_len: int = 24) -> str:
        """A DNS-global name; alphanumeric only, so it also suits Storage and Container Registry."""
        base = re.sub(r"[^a-z0-9]", "", f"{self.prefix}{self.env}{kind}")
        return (base[: max_len - len(self.suffix)] + self.suffix).lower()

    def regional_name(self, kind: str) -> str:
        """Online and serverless endpoint names are unique per Azure region across all customers."""
        return f"{self.prefix}-{kind}-{self.suffix}"

    def hyphen_global_name(self, kind: str, max_len: int = 24) -> str:
        """A DNS-global name that may hold hyphens (Key Vault, API Management, Cognitive Services)."""
        base = f"{self.prefix}-{self.env}-{kind}-"
        return base[: max_len - len(self.suffix)] + self.suffix

    @property
    def stack(self) -> str:
        """The stack's own name, written to the platform tag of what it creates for the operator."""
        return f"{self.prefix}-{self.env}"

    def endpoint_name(self, model: str) -> str:
        """The online endpoint serving ``model`` (an `endpoints` entry); ModelDeployments name it as-is."""
        return self.regional_name(model)

    def registry_name(self) -> str:
        """The Azure ML registry for shared models, environments and components: `kdap-prod-models`."""
        return self.name("models")

    @property
    def tags(self) -> dict[str, str]:
        """Every resource's tags: ownership and the cost-allocation keys of the platform contract."""
        return {
            platform.COST_TAG_ENV: self.env,
            "owner": self.owner,
            platform.COST_TAG_TEAM: self.owner,
            platform.COST_TAG_COST_CENTER: self.cost_center,
            platform.COST_TAG_MODEL: SHARED_MODEL,
            "managed-by": "pulumi",
            "project": "kdap",
        }

    def model_tags(self, model: str, namespace: str, team: str | None = None) -> dict[str, str]:
        """Tags of a resource that serves one model: its cost is that model's (and its team's).

        Built by the contract's `cost_tags`, as the operator builds them from a namespace's labels, so a
        Cost Management query grouped by these keys sees infra's and the operator's resources alike."""
        labels = {
            platform.LABEL_TEAM: team or self.owner,
            platform.LABEL_COST_CENTER: self.cost_center,
            platform.LABEL_ENV: self.env,
        }
        return self.tags | platform.cost_tags(model, namespace, model, labels)

    def assignment_id(self, principal: str, role: str, scope: str) -> str:
        """A deterministic GUID for a role assignment, from logical (plan-time) names."""
        return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, f"{self.prefix}/{self.env}/{principal}/{role}/{scope}"))
