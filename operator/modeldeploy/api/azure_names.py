"""Azure names derived from operator names, deterministically, so no mapping needs to be stored.

Azure ML deployment names are 3-32 characters, letters, digits and dashes, starting with a letter; the SDK
lower-cases traffic keys, so only lower-case names round-trip. Revision names (``<deployment>-<hash>``) can be
longer: those keep a readable prefix and end in a hash of the full name. The revision name is also written
in a tag on the deployment, which is how observed traffic is mapped back.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_DEPLOYMENT_NAME = 32
_VALID = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_HASH_LEN = 8

# Tags the backend writes on what it creates.
TAG_OWNER = "kdap-owner"  # "<namespace>/<name>"
TAG_OWNER_UID = "kdap-owner-uid"
TAG_REVISION = "kdap-revision"
TAG_SPEC_HASH = "kdap-spec-hash"
TAG_STARTED_AT = "kdap-operation-started-at"


def deployment_name(revision: str) -> str:
    """The Azure ML deployment name for a revision: itself when valid, else a prefix plus a hash."""
    if _VALID.match(revision):
        return revision
    cleaned = re.sub(r"[^a-z0-9-]+", "-", revision.lower()).strip("-")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "r-" + cleaned
    digest = hashlib.sha256(revision.encode()).hexdigest()[:_HASH_LEN]
    prefix = cleaned[: MAX_DEPLOYMENT_NAME - _HASH_LEN - 1].rstrip("-")
    return f"{prefix}-{digest}"


def autoscale_setting_name(endpoint: str, deployment: str) -> str:
    """Autoscale settings live in the resource group, so the name carries the endpoint too."""
    return f"{endpoint}-{deployment}-autoscale"


# The diagnostic setting the backend puts on each managed deployment (names are unique per resource).
DIAGNOSTIC_SETTING = "kdap-metrics-to-log-analytics"


def endpoint_resource_id(subscription: str, resource_group: str, workspace: str, endpoint: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}/onlineEndpoints/{endpoint}"
    )


def deployment_resource_id(
    subscription: str, resource_group: str, workspace: str, endpoint: str, deployment: str
) -> str:
    return (
        f"{endpoint_resource_id(subscription, resource_group, workspace, endpoint)}/deployments/{deployment}"
    )


@dataclass(frozen=True)
class Workspace:
    """An Azure ML workspace by ARM name, as policies grant it and datastore URIs name it."""

    subscription_id: str
    resource_group: str
    name: str

    def key(self) -> tuple[str, str, str]:
        """ARM names are case-insensitive: one identity (cache entry, grant) however it is spelled."""
        return (self.subscription_id.lower(), self.resource_group.lower(), self.name.lower())

    def __str__(self) -> str:
        return f"{self.subscription_id}/{self.resource_group}/{self.name}"

    def describe(self) -> str:
        """For people: the name first."""
        return f"{self.name} (resource group {self.resource_group}, subscription {self.subscription_id})"
