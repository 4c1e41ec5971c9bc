"""Run the pack without the Pulumi CLI: over declared resources (e.g. the infra program under mocks), through
the same pulumi-policy objects and unknown-value proxies the policy analyzer uses, honouring a policy-pack
config file's enforcement levels and settings."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from kdap_policies.config import PolicyConfig, PolicyConfigError, parse_config
from kdap_policies.pack import DEFAULT_ENFORCEMENT, RESOURCE_RULES, STACK_RULES, build_policies

_LEVELS = {level.value: level for level in EnforcementLevel}


@dataclass(frozen=True)
class Declared:
    """A resource as a program declares it: inputs with camelCase keys, and the urns each input depends on."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    parent: str | None = None
    dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def resolved_urn(self) -> str:
        return self.urn or f"urn:pulumi:stack::kdap::{self.type}::{self.name}"


@dataclass(frozen=True)
class Violation:
    policy: str
    level: EnforcementLevel
    message: str
    urn: str | None


@dataclass(frozen=True)
class PackConfig:
    """A policy-pack config file split into enforcement levels and per-policy settings."""

    levels: Mapping[str, EnforcementLevel]
    settings: Mapping[str, Mapping[str, Any]]

    @staticmethod
    def parse(raw: Mapping[str, Any] | None) -> PackConfig:
        """Parse and validate `{policy: level | {enforcementLevel?, ...settings}, all?: level}`."""
        rules: dict[str, type[PolicyConfig]] = {r.name: r.config for r in RESOURCE_RULES}
        rules.update({r.name: r.config for r in STACK_RULES})
        levels: dict[str, EnforcementLevel] = {}
        settings: dict[str, Mapping[str, Any]] = {}
        for name, value in (raw or {}).items():
            if name != "all" and name not in rules:
                raise PolicyConfigError(
                    f"unknown policy {name!r} in policy-pack config; known: {', '.join(rules)}"
                )
            entry = dict(value) if isinstance(value, Mapping) else {"enforcementLevel": value}
            if "enforcementLevel" in entry:
                levels[name] = _level(name, entry.pop("enforcementLevel"))
            if name == "all" and entry:
                raise PolicyConfigError("policy-pack config 'all' takes only an enforcement level")
            if name != "all":
                parse_config(name, rules[name], entry)
                settings[name] = entry
        return PackConfig(levels, settings)

    def level(self, policy: Policy) -> EnforcementLevel:
        return (
            self.levels.get(policy.name)
            or self.levels.get("all")
            or policy.enforcement_level
            or DEFAULT_ENFORCEMENT
        )


def _level(name: str, value: Any) -> EnforcementLevel:
    if value not in _LEVELS:
        raise PolicyConfigError(
            f"policy {name!r}: enforcementLevel {value!r} is not one of {', '.join(_LEVELS)}"
        )
    return _LEVELS[value]


def _options(parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _stack_resources(resources: Sequence[Declared]) -> list[PolicyResource]:
    by_urn = {
        r.resolved_urn: PolicyResource(
            r.type,
            unknown_checking_proxy(copy.deepcopy(dict(r.props))),
            r.resolved_urn,
            r.name,
            _options(r.parent),
            None,
            None,
            [],
            {},
        )
        for r in resources
    }
    for r in resources:
        node = by_urn[r.resolved_urn]
        node.parent = by_urn.get(r.parent or "")
        for prop, urns in r.dependencies.items():
            node.property_dependencies[prop] = [by_urn[u] for u in urns if u in by_urn]
            node.dependencies.extend(node.property_dependencies[prop])
    return list(by_urn.values())


def evaluate(
    resources: Sequence[Declared],
    pack_config: Mapping[str, Any] | None = None,
    stack_tags: Mapping[str, str] | None = None,
) -> list[Violation]:
    """Every violation the pack reports for these resources, at each policy's effective enforcement level."""
    config, tags = PackConfig.parse(pack_config), dict(stack_tags or {})
    found: list[Violation] = []
    for policy in build_policies():
        level = config.level(policy)
        if level is EnforcementLevel.DISABLED:
            continue

        def report(
            message: str, urn: str | None = None, name: str = policy.name, lvl: EnforcementLevel = level
        ) -> None:
            found.append(Violation(name, lvl, message, urn))

        settings = config.settings.get(policy.name)
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                props = unknown_checking_proxy(copy.deepcopy(dict(r.props)))
                args = ResourceValidationArgs(
                    r.type, props, r.resolved_urn, r.name, _options(r.parent), None, settings, tags
                )
                policy.validate(args, report)
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(_stack_resources(resources), settings, tags), report)
    return found
