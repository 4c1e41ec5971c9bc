"""The kdap policy pack: every rule, and the pulumi-policy objects built from them."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from kdap_policies import apim, compute, edge, keyvault, llm, rbac, registry, stack, storage, tags, workspace
from kdap_policies.rules import AnyResourceRule, AnyStackRule

PACK_NAME = "kdap-azure-ml"
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY

RESOURCE_RULES: tuple[AnyResourceRule, ...] = (
    *storage.RULES,
    *keyvault.RULES,
    *workspace.RULES,
    *compute.RULES,
    *registry.RULES,
    *apim.RULES,
    *rbac.RULES,
    *edge.RULES,
    *llm.RULES,
    *tags.RULES,
)
STACK_RULES: tuple[AnyStackRule, ...] = (*stack.RULES, *edge.STACK_RULES, *llm.STACK_RULES)
RULE_NAMES: tuple[str, ...] = tuple(r.name for r in RESOURCE_RULES) + tuple(r.name for r in STACK_RULES)


def build_policies() -> list[Policy]:
    return [rule.to_policy() for rule in RESOURCE_RULES] + [rule.to_policy() for rule in STACK_RULES]
