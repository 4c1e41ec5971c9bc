"""Review (#19) of the edge-and-bill rules against cases the catalogue does not have: the first preview of a
new stack (the API policy's apiId and XML are still unknown), and personas granted at a wider scope than
their level, each with the exact message."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from tests.policies.cases import BREAKER_RULE, RG, Case, set_prop
from tests.policies.edge_cases import EDGE_CASES
from tests.policies.test_analyzer import _servicer, _struct, _urn

API, POLICY, BACKEND = (
    "azure-native:apimanagement:Api",
    "azure-native:apimanagement:ApiPolicy",
    "azure-native:apimanagement:Backend",
)


def _resource(type_: str, name: str, props: dict[str, Any], **deps: str) -> proto.AnalyzerResource:
    return proto.AnalyzerResource(
        type=type_,
        name=name,
        urn=_urn(type_, name),
        properties=_struct(props),
        propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=[v]) for k, v in deps.items()},
    )


def _breaker_findings(api_id: Any, value: Any, breaker: bool = True) -> list[str]:
    api = _resource(API, "scoring-api", {"apiId": "score", "protocols": ["https"], "path": "score"})
    backend = {"backendId": "score-endpoint", "url": "https://x.inference.ml.azure.com", "protocol": "http"}
    if breaker:
        backend["circuitBreaker"] = {"rules": [BREAKER_RULE]}
    resources = [
        api,
        _resource(BACKEND, "scoring-backend", backend),
        # In infra the policy's apiId is `api.name` and its XML waits on the gateway identity's client id:
        # both are unknown in the first preview, known only through the property dependency.
        _resource(
            POLICY, "scoring-policy", {"apiId": api_id, "format": "rawxml", "value": value}, apiId=api.urn
        ),
    ]
    diagnostics = _servicer().AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None).diagnostics
    return [d.message for d in diagnostics if d.policyName == "apim-api-circuit-breaker"]


ROUTED = '<policies><inbound><set-backend-service backend-id="score-endpoint" /></inbound></policies>'


def test_the_first_preview_of_a_new_stack_is_not_refused_for_values_it_cannot_know() -> None:
    assert _breaker_findings(UNKNOWN_STRING_VALUE, UNKNOWN_STRING_VALUE) == []
    # Known through the dependency, the API is judged on the policy's XML as soon as that is known.
    assert _breaker_findings(UNKNOWN_STRING_VALUE, ROUTED) == []
    (message,) = _breaker_findings(UNKNOWN_STRING_VALUE, ROUTED, breaker=False)
    assert "Api 'scoring-api': policy routes to no backend entity with a circuit breaker" in message


def test_a_persona_role_on_a_wider_scope_than_its_level_is_refused() -> None:
    # The deployer's AzureML Data Scientist on the whole resource group reaches every workspace in it.
    case = Case("deployer-on-rg", "persona-within-level", set_prop("ds-on-workspace", "scope", RG), ())
    (violation,) = case.run()
    assert violation.policy == "persona-within-level"
    assert (
        f"RoleAssignment 'ds-on-workspace': scope is '{RG}', a resource group: wider than a deployer's "
        "grants, which name the resource they are for" in violation.message
    )
    assert (
        "Fix: scope a deployer's roles to the ML workspace, registry or Log Analytics workspace each is for "
        "(kdap_infra.personas)" in violation.message
    )


def test_an_admin_on_the_resource_group_passes_and_a_reader_on_a_resource_passes() -> None:
    admin = set_prop("ds-on-workspace", "scope", RG)
    contributor = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/" + (
        "b24988ac-6180-42a0-ab88-20f7382dd24c"
    )
    as_admin = Case(
        "admin",
        "persona-within-level",
        lambda s: set_prop("ds-on-workspace", "description", "kdap persona admin: contributor on the rg")(
            set_prop("ds-on-workspace", "roleDefinitionId", contributor)(admin(s))
        ),
        (),
    )
    assert as_admin.run() == []
    reader = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/" + (
        "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    )
    as_reader = Case(
        "reader",
        "persona-within-level",
        lambda s: set_prop("ds-on-workspace", "description", "kdap persona reader: reader on the workspace")(
            set_prop("ds-on-workspace", "roleDefinitionId", reader)(s)
        ),
        (),
    )
    assert as_reader.run() == []


KDAP_RULE = " No Azure Policy built-in covers this; kdap rule."
EXACT = {
    "no-activity-log": (
        "Stack '*': activity log is not sent to Log Analytics (categories Administrative, Policy, Security): "
        "who changed what is not audited. Fix: declare a monitor.SubscriptionDiagnosticSetting with a "
        "workspace_id (kdap_infra.diagnostics.activity_log_to_log_analytics)." + KDAP_RULE,
    ),
    "endpoint-untagged": (
        "OnlineEndpoint 'fraud': tags lack the cost-allocation tags team. Fix: build the endpoint's tags "
        "with Naming.model_tags (the platform contract's cost_tags)." + KDAP_RULE,
    ),
    "endpoint-without-budget": (
        "OnlineEndpoint 'fraud': budget has no consumption.Budget filtered on tag modeldeployment=ml/fraud "
        "that notifies at 80, 100 % of actual spend. Fix: declare a per-endpoint budget "
        "(kdap_infra.budgets.endpoint_budget)." + KDAP_RULE,
    ),
    "deployer-as-contributor": (
        "RoleAssignment 'ds-on-workspace': roleDefinitionId grants b24988ac-6180-42a0-ab88-20f7382dd24c to a "
        "deployer group, above that persona's level. Fix: grant a deployer only "
        "f6c7c914-8db3-469d-8ca1-694a8f32e121, 8311e382-0749-4cb8-b61a-304f252e45ec, "
        "73c42c96-874c-492b-b04d-ab87d138a893." + KDAP_RULE,
    ),
    "no-breaker": tuple(
        f"Api '{api}': policy routes to no backend entity with a circuit breaker (set-backend-service to a "
        "Backend whose circuitBreaker has a rule tripping on 429 and 500-599, and on no other 4xx). Fix: "
        "declare an apimanagement.Backend with circuit_breaker rules and name it in the API policy's "
        "<set-backend-service backend-id=...>." + KDAP_RULE
        for api in ("scoring-api", "llm-api")  # both route to the one backend the case breaks
    ),
}


@pytest.mark.parametrize("case_id", sorted(EXACT))
def test_each_new_rule_says_exactly_what_is_wrong_and_how_to_fix_it(case_id: str) -> None:
    (case,) = [c for c in EDGE_CASES if c.id == case_id]
    assert tuple(v.message for v in case.run()) == EXACT[case_id]
