"""Rules for the edge and the bill (#19): every scoring API routes through a backend with a circuit breaker,
every online endpoint carries the cost-allocation tags and has its own budget that warns at 80 % and 100 %,
no people's group is granted a role above its persona's level, and the audit trail (the subscription's
activity log) reaches Log Analytics."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field

from kdap_policies.builtins import ACTIVITY_LOG_TO_WORKSPACE, closest
from kdap_policies.config import PolicyConfig
from kdap_policies.graph import Stack, StackResource
from kdap_policies.rbac import PRIVILEGED_ROLES
from kdap_policies.resource import Resource, as_strings, is_true, mappings
from kdap_policies.rules import AnyResourceRule, AnyStackRule, Finding, ResourceRule, StackFinding, StackRule

API = "azure-native:apimanagement:Api"
API_POLICY = "azure-native:apimanagement:ApiPolicy"
BACKEND = "azure-native:apimanagement:Backend"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
BUDGET = "azure-native:consumption:Budget"
ROLE_ASSIGNMENT = frozenset({"azure-native:authorization:RoleAssignment"})
ACTIVITY_LOG = "azure-native:monitor:SubscriptionDiagnosticSetting"


def _backend_ids(policy_xml: Any) -> list[str]:
    if not isinstance(policy_xml, str):
        return []
    try:
        root = ET.fromstring(policy_xml)
    except ET.ParseError:
        return []
    return [e.get("backend-id") or "" for e in root.iter("set-backend-service")]


# A breaker opens on what the model cannot answer (throttling, server errors); never on a caller's 4xx, or one
# caller's bad requests would cut every caller off.
TRIP_ON = frozenset({429, *range(500, 600)})
NEVER_TRIP_ON = frozenset(range(400, 500)) - {429}


def _statuses(condition: Mapping[str, Any]) -> set[int]:
    out: set[int] = set()
    for r in mappings(condition.get("statusCodeRanges")):
        try:
            out |= set(range(int(r["min"]), int(r["max"]) + 1))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _has_breaker(backend: StackResource) -> bool:
    conditions = [
        r["failureCondition"]
        for r in mappings(backend.get("circuitBreaker.rules"))
        if isinstance(r.get("failureCondition"), Mapping)
    ]
    return any(_statuses(c) >= TRIP_ON and not _statuses(c) & NEVER_TRIP_ON for c in conditions)


def _policies_of(stack: Stack, api: StackResource, policies: list[StackResource]) -> list[StackResource]:
    """The API's policies: by property dependency (infra passes `api.name`, unknown in a first preview) or
    by equal apiId."""
    api_id = api.get("apiId")
    return [
        p
        for p in policies
        if stack.refers_to(p, "apiId", api) or (api_id is not None and p.get("apiId") == api_id)
    ]


def _api_breakers(stack: Stack, config: PolicyConfig) -> Iterator[StackFinding]:
    backends = {str(b.get("backendId")): b for b in stack.of_type(BACKEND)}
    policies = stack.of_type(API_POLICY)
    for api in stack.of_type(API):
        mine = _policies_of(stack, api, policies)
        if any(p.present("value") and p.get("value") is None for p in mine):
            continue  # the XML is still unknown (preview): it is judged when it is known
        routed = [backend_id for p in mine for backend_id in _backend_ids(p.get("value"))]
        if not any(b in backends and _has_breaker(backends[b]) for b in routed):
            yield StackFinding(
                "policy",
                "routes to no backend entity with a circuit breaker (set-backend-service to a Backend whose "
                "circuitBreaker has a rule tripping on 429 and 500-599, and on no other 4xx)",
                "declare an apimanagement.Backend with circuit_breaker rules and name it in the API policy's "
                "<set-backend-service backend-id=...>",
                subject=api,
            )


class CostConfig(PolicyConfig):
    cost_tags: tuple[str, ...] = Field(
        default=("model", "modeldeployment", "team", "cost-center", "env"),
        description="Cost-allocation tags every online endpoint carries.",
    )
    budget_tag: str = Field(
        default="modeldeployment", description="The tag a per-endpoint budget filters on."
    )
    alert_percents: tuple[float, ...] = Field(
        default=(80.0, 100.0), description="Actual-spend percentages each endpoint budget notifies at."
    )


def _budget_covers(budget: StackResource, tag: str, value: str) -> bool:
    expression = budget.get("filter.tags")
    return (
        isinstance(expression, Mapping)
        and expression.get("name") == tag
        and value in as_strings(expression.get("values"))
    )


def _alert_percents(budget: StackResource) -> set[float]:
    notes = budget.get("notifications")
    values = notes.values() if isinstance(notes, Mapping) else []
    return {
        float(n["threshold"])
        for n in values
        if isinstance(n, Mapping)
        and is_true(n.get("enabled"))
        and str(n.get("thresholdType", "Actual")) == "Actual"
        and isinstance(n.get("threshold"), int | float)
        and (n.get("contactEmails") or n.get("contactGroups"))
    }


def _endpoint_costs(stack: Stack, config: CostConfig) -> Iterator[StackFinding]:
    budgets = stack.of_type(BUDGET)
    for endpoint in stack.of_type(ENDPOINT):
        tags = endpoint.get("tags")
        tags = tags if isinstance(tags, Mapping) else {}
        missing = [t for t in config.cost_tags if not str(tags.get(t) or "").strip()]
        if missing:
            yield StackFinding(
                "tags",
                f"lack the cost-allocation tags {', '.join(missing)}",
                "build the endpoint's tags with Naming.model_tags (the platform contract's cost_tags)",
                subject=endpoint,
            )
        value = str(tags.get(config.budget_tag) or "")
        mine = [b for b in budgets if value and _budget_covers(b, config.budget_tag, value)]
        wanted = set(config.alert_percents)
        if not any(wanted <= _alert_percents(b) for b in mine):
            yield StackFinding(
                "budget",
                f"has no consumption.Budget filtered on tag {config.budget_tag}={value or '?'} that notifies "
                f"at {', '.join(f'{p:g}' for p in sorted(wanted))} % of actual spend",
                "declare a per-endpoint budget (kdap_infra.budgets.endpoint_budget)",
                subject=endpoint,
            )


class AuditConfig(PolicyConfig):
    categories: tuple[str, ...] = Field(
        default=("Administrative", "Security", "Policy"),
        description="Activity log categories a subscription diagnostic setting must send to Log Analytics.",
    )


def _audit_trail(stack: Stack, config: AuditConfig) -> Iterator[StackFinding]:
    wanted = set(config.categories)
    for setting in stack.of_type(ACTIVITY_LOG):
        logs = setting.get("logs")
        enabled = {str(entry.get("category")) for entry in mappings(logs) if is_true(entry.get("enabled"))}
        if setting.get("workspaceId") and wanted <= enabled:
            return
    yield StackFinding(
        "activity log",
        f"is not sent to Log Analytics (categories {', '.join(sorted(wanted))}): who changed what is not "
        "audited",
        "declare a monitor.SubscriptionDiagnosticSetting with a workspace_id "
        "(kdap_infra.diagnostics.activity_log_to_log_analytics)",
    )


class PersonaConfig(PolicyConfig):
    description_prefix: str = Field(
        default="kdap persona ", description="How a group assignment's description names its persona."
    )
    allowed_roles: dict[str, tuple[str, ...]] = Field(
        default={
            # Reader, Log Analytics Reader
            "reader": ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "73c42c96-874c-492b-b04d-ab87d138a893"),
            # AzureML Data Scientist, AcrPush, Log Analytics Reader
            "deployer": (
                "f6c7c914-8db3-469d-8ca1-694a8f32e121",
                "8311e382-0749-4cb8-b61a-304f252e45ec",
                "73c42c96-874c-492b-b04d-ab87d138a893",
            ),
            # Contributor
            "admin": ("b24988ac-6180-42a0-ab88-20f7382dd24c",),
        },
        description="Role definition GUIDs each persona may hold; anything else is above its level.",
    )
    resource_group_personas: tuple[str, ...] = Field(
        default=("admin",),
        description="Personas whose roles may cover a whole resource group; the others name their resource.",
    )


_RESOURCE_GROUP = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/?$", re.I)


def _persona_scope(resource: Resource, persona: str, config: PersonaConfig) -> Iterator[Finding]:
    # Subscriptions and management groups are refused for everyone by rbac-no-subscription-scope.
    scope = resource.get("scope")
    wide = isinstance(scope, str) and bool(_RESOURCE_GROUP.match(scope))
    if wide and persona not in config.resource_group_personas:
        yield Finding(
            "scope",
            f"is {scope!r}, a resource group: wider than a {persona}'s grants, which name the resource they "
            "are for",
            f"scope a {persona}'s roles to the ML workspace, registry or Log Analytics workspace each is for "
            "(kdap_infra.personas)",
        )


def _persona_level(resource: Resource, config: PersonaConfig) -> Iterator[Finding]:
    if resource.get("principalType") != "Group":
        return
    description = str(resource.get("description") or "")
    persona = description.removeprefix(config.description_prefix).split(":", 1)[0].strip()
    allowed = config.allowed_roles.get(persona) if description.startswith(config.description_prefix) else None
    if allowed is None:
        yield Finding(
            "description",
            f"is {description!r}: a group assignment naming no persona ({', '.join(config.allowed_roles)})",
            f"describe it as '{config.description_prefix}<persona>: ...' (kdap_infra.personas)",
        )
        return
    yield from _persona_scope(resource, persona, config)
    role = str(resource.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    # Owner and access administration are refused for everyone by rbac-no-privileged-roles (critical).
    if role not in {r.lower() for r in allowed} and role not in PRIVILEGED_ROLES:
        yield Finding(
            "roleDefinitionId",
            f"grants {role} to a {persona} group, above that persona's level",
            f"grant a {persona} only {', '.join(allowed)}",
        )


STACK_RULES: tuple[AnyStackRule, ...] = (
    StackRule(
        "apim-api-circuit-breaker",
        "Every API Management API routes through a backend with a circuit breaker.",
        _api_breakers,
        PolicyConfig,
    ),
    StackRule(
        "activity-log-to-log-analytics",
        "The subscription's activity log (Administrative, Security, Policy) is sent to Log Analytics.",
        _audit_trail,
        AuditConfig,
        # It deploys the setting where kdap's rule refuses a stack without one: the closest, not the same.
        builtins=(closest(ACTIVITY_LOG_TO_WORKSPACE),),
    ),
    StackRule(
        "endpoint-budget-and-cost-tags",
        "Every online endpoint carries cost-allocation tags and has its own budget alerting at 80/100 %.",
        _endpoint_costs,
        CostConfig,
    ),
)
RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "persona-within-level",
        "People's groups hold only the roles of their persona (reader, deployer, admin), at its scope.",
        ROLE_ASSIGNMENT,
        _persona_level,
        PersonaConfig,
        None,
    ),
)
