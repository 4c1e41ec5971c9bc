"""The facts the pack relies on: built-in ids, resource type tokens and tag support in the installed SDK,
and the ISO 8601 durations Azure ML uses."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pulumi_azure_native
import pytest

from kdap_policies import builtins
from kdap_policies.durations import describe, parse_duration
from kdap_policies.pack import RESOURCE_RULES, STACK_RULES
from kdap_policies.stack import BUDGET, DIAGNOSTIC_SETTING, ENDPOINT, LOGGED, METRIC_ALERT
from kdap_policies.tags import TAGGABLE

SDK = Path(pulumi_azure_native.__file__).parent
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Rules Azure Policy has no built-in for; every other rule must cite one.
KDAP_ONLY = {
    "compute-cluster-scale-to-zero",
    "compute-cluster-idle-scale-down",
    "compute-cluster-low-priority-outside-prod",
    "rbac-no-subscription-scope",
    "endpoint-alerts",
    "budget-exists",
    "apim-api-circuit-breaker",
    "endpoint-budget-and-cost-tags",
    "persona-within-level",
    "llm-api-safety-and-token-limits",
    "serverless-endpoint-callers",
    "managed-llm-endpoint-entra-only",
}


def _sdk_source(token: str) -> str:
    """The SDK module defining a type token, found by its registration string rather than by file name."""
    _, module, _ = token.split(":")
    for path in (SDK / module).glob("*.py"):
        text = path.read_text()
        if f"'{token}'" in text and "super(" in text:
            return text
    raise LookupError(f"{token} is not a resource of the installed pulumi-azure-native")


def _types_judged() -> set[str]:
    types = {t for rule in RESOURCE_RULES if rule.types for t in rule.types}
    return types | {ENDPOINT, METRIC_ALERT, BUDGET, DIAGNOSTIC_SETTING, *LOGGED}


def test_every_rule_cites_a_builtin_unless_none_exists() -> None:
    for rule in RESOURCE_RULES:
        assert (rule.builtin is None) == (rule.name in KDAP_ONLY), rule.name
    for stack_rule in STACK_RULES:
        assert bool(stack_rule.builtins) == (stack_rule.name not in KDAP_ONLY), stack_rule.name


def test_builtin_ids_are_guids_and_links_point_at_them_and_all_are_cited() -> None:
    catalogue = [value for value in vars(builtins).values() if isinstance(value, builtins.BuiltIn)]
    cited = {r.builtin.id for r in RESOURCE_RULES if r.builtin} | {
        b.id for r in STACK_RULES for b in r.builtins
    }
    assert {b.id for b in catalogue} == cited
    for builtin in catalogue:
        assert GUID.match(builtin.id), builtin
        assert builtin.url.endswith(builtin.id)
        assert builtin.id in builtin.cite()


@pytest.mark.parametrize("token", sorted(_types_judged()))
def test_judged_type_tokens_exist_in_the_sdk(token: str) -> None:
    assert _sdk_source(token)


@pytest.mark.parametrize("token", sorted(TAGGABLE))
def test_taggable_types_take_tags_in_the_sdk(token: str) -> None:
    assert '__props__.__dict__["tags"] = tags' in _sdk_source(token)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT30M", timedelta(minutes=30)),
        ("PT120S", timedelta(seconds=120)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("pt1h30m", timedelta(hours=1, minutes=30)),
        ("PT0.5H", timedelta(minutes=30)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "30M", "P1M", "P1W", "PT-5M", "15 minutes"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 day/time duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [(timedelta(hours=2), "PT2H"), (timedelta(minutes=90), "PT90M"), (timedelta(seconds=45), "PT45S")],
)
def test_durations_render_for_fix_text(delta: timedelta, text: str) -> None:
    assert describe(delta) == text
    assert parse_duration(text) == delta
