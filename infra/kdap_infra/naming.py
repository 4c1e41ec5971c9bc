"""Every resource name and tag comes from here, so a stack never drifts from its own conventions."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from kdap_infra.config import PlatformConfig

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
        return {
            "env": self.env,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
            "project": "kdap",
        }

    def assignment_id(self, principal: str, role: str, scope: str) -> str:
        """A deterministic GUID for a role assignment, from logical (plan-time) names."""
        return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, f"{self.prefix}/{self.env}/{principal}/{role}/{scope}"))
