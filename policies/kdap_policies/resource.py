"""A read-only view of one declared resource as pulumi-policy presents it: camelCase keys, nested mappings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ENV_TAG = "env"


def lookup(props: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path, or None where any step is missing or not a mapping."""
    value: Any = props
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def same(value: Any, expected: str) -> bool:
    """Case-insensitive comparison for ARM enums, which Azure accepts in any case."""
    return isinstance(value, str) and value.lower() == expected.lower()


def as_strings(value: Any) -> list[str]:
    """A list of strings from a sequence input, or from a mapping's keys (user-assigned identities)."""
    if isinstance(value, Mapping):
        return [str(key) for key in value]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [str(item) for item in value]
    return []


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a sequence input (the analyzer hands lists over as proxies, not lists)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [item for item in value if isinstance(item, Mapping)]
    return []


@dataclass(frozen=True)
class Resource:
    """One resource under validation: its type token, logical name and input properties."""

    type: str
    name: str
    props: Mapping[str, Any]
    stack_tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The short type name used in messages, e.g. StorageAccount."""
        return self.type.rsplit(":", 1)[-1]

    def get(self, path: str) -> Any:
        return lookup(self.props, path)

    @property
    def tags(self) -> Mapping[str, Any]:
        tags = self.props.get("tags")
        return tags if isinstance(tags, Mapping) else {}

    @property
    def environment(self) -> str | None:
        """The resource's `env` tag, else the stack's `env` tag, else unknown."""
        env = self.tags.get(ENV_TAG) or self.stack_tags.get(ENV_TAG)
        return str(env) if env else None

    def is_prod(self, prod_environments: Sequence[str]) -> bool:
        """Unknown environments get the production rules: a missing tag must not relax security."""
        env = self.environment
        return env is None or env in prod_environments
