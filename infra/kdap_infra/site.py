"""What every component shares: the stack's `Site` facts and the `Placement` of its resources.

A leaf module (no component imports it back), so components take these instead of the whole stack config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from kdap_infra.naming import Naming

if TYPE_CHECKING:
    from kdap_infra.config import PlatformConfig


@dataclass(frozen=True)
class Site:
    """The facts of the stack every component may read: where it runs, whether it is prod, whose tenant."""

    location: str
    is_prod: bool
    tenant_id: str

    @classmethod
    def of(cls, config: PlatformConfig) -> Site:
        return cls(config.location, config.is_prod, config.tenant_id)

    @property
    def public_access(self) -> str:
        """`public_network_access` for every service that has it.

        Prod is reachable only through private endpoints; dev keeps public access (behind RBAC) for laptops.
        """
        return "Disabled" if self.is_prod else "Enabled"


@dataclass(frozen=True)
class Placement:
    """Where a component's resources go: the site, their names and tags, their group and their log sink."""

    site: Site
    naming: Naming
    resource_group_name: pulumi.Input[str]
    log_analytics_id: pulumi.Input[str]
