"""The stack as stack policies see it: resources, and which resource a property points at."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from kdap_policies.resource import Resource, as_strings

T = TypeVar("T")

# The tail of each type's ARM id and the input holding its name, to recognise a reference by resource id.
_ARM_NAMES: Mapping[str, tuple[str, str]] = {
    "azure-native:machinelearningservices:Workspace": (
        "Microsoft.MachineLearningServices/workspaces",
        "workspaceName",
    ),
    "azure-native:machinelearningservices:OnlineEndpoint": ("onlineEndpoints", "endpointName"),
    "azure-native:machinelearningservices:ServerlessEndpoint": ("serverlessEndpoints", "name"),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:apimanagement:ApiManagementService": ("Microsoft.ApiManagement/service", "serviceName"),
}


def known(read: Callable[[], T], default: T) -> T:
    """A value that may still be unknown during preview, or `default` when it is."""
    try:
        return read()
    except UnknownValueError:
        return default


def present(mapping: Mapping[str, Any], key: str) -> bool:
    """Whether a key holds a non-empty value; a value still unknown in preview will be set, so it counts."""
    try:
        return bool(mapping.get(key))
    except UnknownValueError:
        return True


@dataclass(frozen=True)
class StackResource:
    """A resource in the stack with its urn and, per input property, the urns that property depends on."""

    resource: Resource
    urn: str
    dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.resource.type

    def get(self, path: str) -> Any:
        return known(lambda: self.resource.get(path), None)

    def present(self, key: str) -> bool:
        return present(self.resource.props, key)

    def arm_id(self) -> str | None:
        value = self.get("id")
        return value if isinstance(value, str) and value else None

    def matches_id(self, ref: str) -> bool:
        """Whether an ARM id string denotes this resource: by its id, or by collection and name."""
        ref = ref.rstrip("/").lower()
        own = self.arm_id()
        if own is not None and own.rstrip("/").lower() == ref:
            return True
        segment, name_prop = _ARM_NAMES.get(self.type, ("", ""))
        name = self.get(name_prop) if name_prop else None
        return bool(segment and isinstance(name, str) and ref.endswith(f"/{segment}/{name}".lower()))


@dataclass(frozen=True)
class Stack:
    resources: Sequence[StackResource]

    @staticmethod
    def from_policy_resources(resources: Iterable[PolicyResource], stack_tags: Mapping[str, str]) -> Stack:
        return Stack(
            [
                StackResource(
                    Resource(r.resource_type, r.name, r.props, stack_tags),
                    r.urn,
                    {prop: tuple(d.urn for d in deps) for prop, deps in r.property_dependencies.items()},
                )
                for r in resources
            ]
        )

    def of_type(self, *types: str) -> list[StackResource]:
        return [r for r in self.resources if r.type in types]

    def refers_to(self, source: StackResource, prop: str, target: StackResource) -> bool:
        """Whether `source.prop` points at `target`: by dependency (known in preview) or by resource id."""
        if target.urn in source.dependencies.get(prop, ()):
            return True
        value = source.get(prop)
        refs = [value] if isinstance(value, str) else as_strings(value)
        return any(target.matches_id(ref) for ref in refs)
