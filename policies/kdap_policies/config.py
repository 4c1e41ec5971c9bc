"""Per-policy configuration: one pydantic model per policy is both the schema Pulumi sees and the parser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pulumi_policy import PolicyConfigSchema
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

DEFAULT_PROD_ENVIRONMENTS = ("prod",)


class PolicyConfig(BaseModel):
    """Base for policy configs: camelCase keys as in Pulumi policy-pack config files, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class EnvironmentConfig(PolicyConfig):
    """For policies whose rule differs between production and the other environments."""

    prod_environments: tuple[str, ...] = Field(
        default=DEFAULT_PROD_ENVIRONMENTS,
        min_length=1,
        description="Values of the `env` tag that get production rules (an untagged resource does too).",
    )


C = TypeVar("C", bound=PolicyConfig)


class PolicyConfigError(ValueError):
    """A policy's configuration does not match its schema."""


def config_schema(model: type[PolicyConfig]) -> PolicyConfigSchema | None:
    """The JSON schema Pulumi validates a policy's config against; None for a policy without settings."""
    schema = model.model_json_schema(by_alias=True)
    if "$defs" in schema:
        raise TypeError(f"{model.__name__}: policy config must be flat (Pulumi takes no $ref)")
    properties: dict[str, dict[str, Any]] = {
        key: {k: v for k, v in prop.items() if k != "title"}
        for key, prop in schema.get("properties", {}).items()
    }
    return PolicyConfigSchema(properties) if properties else None


def parse_config(policy: str, model: type[C], raw: Mapping[str, Any] | None) -> C:
    """Parse one policy's settings; the error names the policy and each bad key."""
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
            for error in exc.errors()
        )
        raise PolicyConfigError(f"policy {policy!r} config is invalid: {problems}") from None
