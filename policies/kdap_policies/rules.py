"""Rules as pure functions over declared resources, and their conversion to pulumi-policy policies."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from kdap_policies.builtins import BuiltIn
from kdap_policies.config import C, config_schema, parse_config
from kdap_policies.graph import Stack, StackResource
from kdap_policies.resource import Resource

NO_BUILTIN = "No Azure Policy built-in covers this; kdap rule."


@dataclass(frozen=True)
class Finding:
    """What is wrong with one property and how to fix it."""

    prop: str
    problem: str
    fix: str


@dataclass(frozen=True)
class StackFinding(Finding):
    """A finding about the stack as a whole, or about one resource in it."""

    subject: StackResource | None = None
    builtin: BuiltIn | None = None


def render(kind: str, name: str, finding: Finding, builtin: BuiltIn | None) -> str:
    """The violation message: resource, property, problem, fix, and the built-in it mirrors."""
    cite = builtin.cite() if builtin is not None else NO_BUILTIN
    return f"{kind} '{name}': {finding.prop} {finding.problem}. Fix: {finding.fix}. {cite}"


@dataclass(frozen=True)
class ResourceRule(Generic[C]):
    """A rule applied to each resource of the given types (None: every resource; the check filters)."""

    name: str
    description: str
    types: frozenset[str] | None
    check: Callable[[Resource, C], Iterable[Finding]]
    config: type[C]
    builtin: BuiltIn | None = None
    severity: Severity = Severity.HIGH
    enforcement: EnforcementLevel | None = None

    def evaluate(self, resource: Resource, raw_config: Mapping[str, Any] | None) -> list[str]:
        if self.types is not None and resource.type not in self.types:
            return []
        settings = parse_config(self.name, self.config, raw_config)
        return [render(resource.kind, resource.name, f, self.builtin) for f in self.check(resource, settings)]

    def to_policy(self) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            resource = Resource(args.resource_type, args.name, args.props, args.stack_tags)
            for message in self.evaluate(resource, args.get_config()):
                report(message, None)

        url = self.builtin.url if self.builtin is not None else None
        return ResourceValidationPolicy(validate=validate, **_policy_fields(self, url))


@dataclass(frozen=True)
class StackRule(Generic[C]):
    """A rule over the whole stack: things that must exist, and how resources relate."""

    name: str
    description: str
    check: Callable[[Stack, C], Iterable[StackFinding]]
    config: type[C]
    builtins: tuple[BuiltIn, ...] = field(default=())
    severity: Severity = Severity.HIGH
    enforcement: EnforcementLevel | None = None

    def evaluate(self, stack: Stack, raw_config: Mapping[str, Any] | None) -> list[tuple[str, str | None]]:
        """(message, urn) pairs; the urn is None where the stack as a whole is at fault."""
        settings = parse_config(self.name, self.config, raw_config)
        out: list[tuple[str, str | None]] = []
        for finding in self.check(stack, settings):
            subject = finding.subject
            kind, name = (subject.resource.kind, subject.resource.name) if subject else ("Stack", "*")
            out.append((render(kind, name, finding, finding.builtin), subject.urn if subject else None))
        return out

    def to_policy(self) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            stack = Stack.from_policy_resources(args.resources, args.stack_tags)
            for message, urn in self.evaluate(stack, args.get_config()):
                report(message, urn)

        url = self.builtins[0].url if self.builtins else None
        return StackValidationPolicy(validate=validate, **_policy_fields(self, url))


def _policy_fields(rule: ResourceRule[Any] | StackRule[Any], url: str | None) -> dict[str, Any]:
    """What a CrossGuard policy says about itself, the same for resource and stack rules."""
    return {
        "name": rule.name,
        "description": rule.description,
        "enforcement_level": rule.enforcement,
        "config_schema": config_schema(rule.config),
        "severity": rule.severity,
        "url": url,
    }


AnyResourceRule = ResourceRule[Any]
AnyStackRule = StackRule[Any]
