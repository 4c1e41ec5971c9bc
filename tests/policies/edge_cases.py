"""Violation cases for the edge and the bill (#19), one per way to break a rule (run by test_violations)."""

from __future__ import annotations

from typing import Any

from tests.policies.cases import BREAKER_RULE, Case, remove, set_prop

ROLE = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
ROUTED_ELSEWHERE = '<policies><inbound><set-backend-service backend-id="x" /></inbound></policies>'
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def _breaker(*ranges: tuple[int, int]) -> dict[str, Any]:
    codes = [{"min": a, "max": b} for a, b in ranges]
    condition = {**BREAKER_RULE["failureCondition"], "statusCodeRanges": codes}
    return {**BREAKER_RULE, "failureCondition": condition}


EDGE_CASES = [
    Case(
        "no-activity-log",
        "activity-log-to-log-analytics",
        remove("activity-log"),
        ("activity log is not sent to Log Analytics (categories Administrative, Policy, Security)",),
    ),
    Case(
        "activity-log-without-policy-events",
        "activity-log-to-log-analytics",
        set_prop(
            "activity-log", "logs", [{"category": c, "enabled": True} for c in ("Administrative", "Security")]
        ),
        ("kdap_infra.diagnostics.activity_log_to_log_analytics",),
    ),
    Case(
        "no-breaker",
        "apim-api-circuit-breaker",
        set_prop("scoring-backend", "circuitBreaker"),
        ("Api 'scoring-api': policy routes to no backend entity with a circuit breaker",),
    ),
    Case(
        "breaker-without-condition",
        "apim-api-circuit-breaker",
        set_prop("scoring-backend", "circuitBreaker.rules", [{"name": BREAKER_RULE["name"]}]),
        ("circuit_breaker rules",),
    ),
    # Review (#19): breakers that count the wrong answers.
    Case(
        "breaker-ignores-throttling",
        "apim-api-circuit-breaker",
        set_prop("scoring-backend", "circuitBreaker.rules", [_breaker((500, 599))]),
        (
            "Api 'scoring-api': policy routes to no backend entity with a circuit breaker "
            "(set-backend-service to a Backend whose circuitBreaker has a rule tripping on 429 and 500-599, "
            "and on no other 4xx)",
        ),
    ),
    Case(
        "breaker-trips-on-client-errors",
        "apim-api-circuit-breaker",
        set_prop("scoring-backend", "circuitBreaker.rules", [_breaker((400, 599))]),
        ("a rule tripping on 429 and 500-599, and on no other 4xx",),
    ),
    Case(
        "api-not-routed",
        "apim-api-circuit-breaker",
        remove("scoring-policy"),
        ("<set-backend-service backend-id=...>",),
    ),
    Case(
        "routed-elsewhere",
        "apim-api-circuit-breaker",
        set_prop(
            "scoring-policy",
            "value",
            '<policies><inbound><set-backend-service backend-id="x" /></inbound></policies>',
        ),
        ("Api 'scoring-api'",),
    ),
    Case(
        "endpoint-untagged",
        "endpoint-budget-and-cost-tags",
        set_prop("fraud", "tags.team"),
        ("OnlineEndpoint 'fraud': tags lack the cost-allocation tags team",),
    ),
    Case(
        "endpoint-without-budget",
        "endpoint-budget-and-cost-tags",
        remove("fraud-budget"),
        ("no consumption.Budget filtered on tag modeldeployment=ml/fraud", "80, 100 %"),
    ),
    Case(
        "budget-for-another-endpoint",
        "endpoint-budget-and-cost-tags",
        set_prop("fraud-budget", "filter.tags.values", ["ml/other"]),
        ("OnlineEndpoint 'fraud': budget has no consumption.Budget",),
    ),
    Case(
        "budget-warns-only-at-100",
        "endpoint-budget-and-cost-tags",
        set_prop("fraud-budget", "notifications.actual-80.enabled", False),
        ("notifies at 80, 100 %",),
    ),
    Case(
        "deployer-as-contributor",
        "persona-within-level",
        set_prop("ds-on-workspace", "roleDefinitionId", ROLE + CONTRIBUTOR),
        (f"grants {CONTRIBUTOR} to a deployer group, above that persona's level",),
    ),
    Case(
        "reader-with-data-scientist",
        "persona-within-level",
        set_prop("ds-on-workspace", "description", "kdap persona reader: sneaky"),
        ("to a reader group",),
    ),
    Case(
        "group-without-persona",
        "persona-within-level",
        set_prop("ds-on-workspace", "description", "ad hoc"),
        ("a group assignment naming no persona",),
    ),
]
