"""Per-stack settings and enforcement levels: thresholds move verdicts; bad config fails, saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from kdap_policies.config import PolicyConfigError
from kdap_policies.evaluate import PackConfig, evaluate
from kdap_policies.pack import RESOURCE_RULES, RULE_NAMES, STACK_RULES, build_policies
from tests.policies.cases import compliant_stack, set_prop

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policies" / "config"


def policies_of(config: dict[str, Any], stack: str = "prod") -> dict[str, EnforcementLevel]:
    return {v.policy: v.level for v in evaluate(compliant_stack(stack), config)}


def test_tls_threshold_is_configurable() -> None:
    config = {"storage-minimum-tls": {"minimumTlsVersion": "TLS1_3"}}
    (violation,) = evaluate(compliant_stack("prod"), config)
    assert "'TLS1_2', below TLS1_3" in violation.message
    assert "minimum_tls_version='TLS1_3'" in violation.message


def test_retention_threshold_is_configurable() -> None:
    stack = set_prop("vault", "properties.softDeleteRetentionInDays", 30)(compliant_stack("prod"))
    assert evaluate(stack) == []
    (violation,) = evaluate(stack, {"keyvault-soft-delete": {"minRetentionDays": 90}})
    assert "softDeleteRetentionInDays is 30, below the required 90 days" in violation.message


def test_idle_limits_are_configurable() -> None:
    config = {"compute-cluster-idle-scale-down": {"maxIdleBeforeScaleDown": "PT10M"}}
    (violation,) = evaluate(compliant_stack("prod"), config)
    assert "is PT15M, longer than PT10M" in violation.message


def test_prod_environments_are_configurable() -> None:
    stack = set_prop("storage", "publicNetworkAccess", "Enabled")(compliant_stack("staging"))
    stack = set_prop("storage", "networkRuleSet")(stack)
    assert "storage-network-closed-in-prod" not in {v.policy for v in evaluate(stack)}
    config = {"storage-network-closed-in-prod": {"prodEnvironments": ["prod", "staging"]}}
    (violation,) = [v for v in evaluate(stack, config) if v.policy == "storage-network-closed-in-prod"]
    assert "(env=staging)" in violation.message


def test_untagged_resources_get_production_rules() -> None:
    stack = set_prop("storage", "tags")(
        set_prop("storage", "publicNetworkAccess", "Enabled")(compliant_stack("dev"))
    )
    stack = set_prop("storage", "networkRuleSet")(stack)
    found = {v.policy: v.message for v in evaluate(stack)}
    assert set(found) == {"storage-network-closed-in-prod", "required-tags"}
    assert "(env=None)" in found["storage-network-closed-in-prod"]


def test_enforcement_levels_per_policy_and_for_all() -> None:
    broken = set_prop("acr", "adminUserEnabled", True)(compliant_stack("prod"))
    assert [v.level for v in evaluate(broken)] == [EnforcementLevel.MANDATORY]
    assert [v.level for v in evaluate(broken, {"all": "advisory"})] == [EnforcementLevel.ADVISORY]
    per_policy = {"all": "advisory", "registry-admin-user-disabled": {"enforcementLevel": "mandatory"}}
    assert [v.level for v in evaluate(broken, per_policy)] == [EnforcementLevel.MANDATORY]
    assert evaluate(broken, {"registry-admin-user-disabled": "disabled"}) == []


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"no-such-policy": "mandatory"}, "unknown policy 'no-such-policy' in policy-pack config"),
        (
            {"required-tags": "strict"},
            "policy 'required-tags': enforcementLevel 'strict' is not one of advisory",
        ),
        ({"all": {"minimumTlsVersion": "TLS1_3"}}, "'all' takes only an enforcement level"),
        (
            {"storage-minimum-tls": {"minimumTlsVersion": "TLS1_1"}},
            "policy 'storage-minimum-tls' config is invalid: "
            "minimumTlsVersion: Input should be 'TLS1_2' or 'TLS1_3'",
        ),
        (
            {"keyvault-soft-delete": {"minRetentionDays": 3}},
            "minRetentionDays: Input should be greater than or equal to 7",
        ),
        ({"keyvault-soft-delete": {"retention": 30}}, "retention: Extra inputs are not permitted"),
        (
            {"compute-instance-idle-shutdown": {"maxIdleBeforeShutdown": "1 hour"}},
            "not an ISO 8601 day/time duration: '1 hour'",
        ),
        (
            {"storage-network-closed-in-prod": {"prodEnvironments": []}},
            "prodEnvironments: Tuple should have at least 1 item",
        ),
    ],
)
def test_bad_config_is_refused_with_its_reason(config: dict[str, Any], error: str) -> None:
    with pytest.raises(PolicyConfigError) as caught:
        evaluate(compliant_stack("prod"), config)
    assert error in str(caught.value)


def test_engine_numbers_arrive_as_floats_and_still_parse() -> None:
    # The analyzer receives config through protobuf Struct, where every number is a double.
    assert evaluate(compliant_stack("prod"), {"keyvault-soft-delete": {"minRetentionDays": 90.0}}) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stack_configs_are_valid(stack: str) -> None:
    raw = json.loads((CONFIG_DIR / f"{stack}.json").read_text())
    config = PackConfig.parse(raw)
    assert set(config.settings) <= set(RULE_NAMES)
    assert config.levels["all"] is EnforcementLevel.MANDATORY


def test_config_schemas_are_flat_json_with_defaults_that_parse() -> None:
    policies = {p.name: p for p in build_policies()}
    assert len(policies) == len(RULE_NAMES) == len(set(RULE_NAMES))
    for rule in (*RESOURCE_RULES, *STACK_RULES):
        schema = policies[rule.name].config_schema
        if schema is None:
            assert rule.config.model_fields == {}
            continue
        text = json.dumps(schema.properties)
        assert "$ref" not in text
        defaults = {key: prop["default"] for key, prop in schema.properties.items()}
        assert set(defaults) == {f.alias for f in rule.config.model_fields.values()}
        rule.config.model_validate(defaults)
