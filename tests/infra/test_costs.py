"""Cost allocation: every taggable resource carries the contract's cost tags; what serves one model is tagged
for that model and its team; each endpoint has its own budget, found by the same tag the operator writes."""

from __future__ import annotations

from kdap_infra.budgets import ENDPOINT_ALERT_PERCENT, endpoint_amount
from kdap_infra.naming import SHARED_MODEL
from kdap_infra.testing import ProgramRun
from modeldeploy.api import platform

INFRA_COST_TAGS = (platform.COST_TAG_MODEL, platform.COST_TAG_TEAM, platform.COST_TAG_COST_CENTER, "env")


def test_every_tagged_resource_carries_the_cost_tags(stack: ProgramRun) -> None:
    tagged = [r for r in stack.resources if r.type.startswith("azure-native:") and "tags" in r.inputs]
    assert len(tagged) > 20
    for r in tagged:
        if not isinstance(r.inputs["tags"], dict):  # API Management named values take a list of labels
            continue
        missing = [t for t in INFRA_COST_TAGS if not r.inputs["tags"].get(t)]
        assert not missing, f"{r.type} {r.name} lacks {missing}"
        assert r.inputs["tags"]["cost-center"] == stack.config.cost_center
        assert r.inputs["tags"]["env"] == stack.config.env


def test_what_serves_one_model_is_that_models(dev: ProgramRun) -> None:
    teams = {e.name: e.team or dev.config.owner for e in dev.config.endpoints}
    assert teams["budget-optimizer"] == "pricing"  # the dev stack names one model's own team
    for model, team in teams.items():
        endpoint = dev.named("azure-native:machinelearningservices:OnlineEndpoint", f"ep-{model}")
        alerts = [r for r in dev.resources if r.name.startswith(f"alert-{model}-")]
        assert len(alerts) == 3
        for r in [endpoint, *alerts]:
            tags = r.inputs["tags"]
            assert tags[platform.COST_TAG_MODEL] == model
            assert tags[platform.COST_TAG_TEAM] == team
            assert tags[platform.COST_TAG_DEPLOYMENT] == f"ml-serving/{model}"
    (workspace,) = dev.of_type("azure-native:machinelearningservices:Workspace")
    assert workspace.inputs["tags"][platform.COST_TAG_MODEL] == SHARED_MODEL


def test_infra_and_operator_build_the_same_cost_tags(dev: ProgramRun) -> None:
    endpoint = dev.named("azure-native:machinelearningservices:OnlineEndpoint", "ep-budget-optimizer")
    labels = {platform.LABEL_TEAM: "pricing", platform.LABEL_COST_CENTER: dev.config.cost_center}
    labels[platform.LABEL_ENV] = "dev"
    operator_side = platform.cost_tags("budget-optimizer", "ml-serving", "budget-optimizer", labels)
    assert operator_side.items() <= endpoint.inputs["tags"].items()


def test_each_endpoint_has_a_budget_alerting_owners_at_80_and_100(stack: ProgramRun) -> None:
    groups = {stack.outputs["warning_action_group_id"], stack.outputs["critical_action_group_id"]}
    for spec in stack.config.endpoints:
        budget = stack.named("azure-native:consumption:Budget", f"budget-{spec.name}").inputs
        assert budget["filter"]["tags"] == {
            "name": platform.COST_TAG_DEPLOYMENT,
            "operator": "In",
            "values": [f"{spec.namespace}/{spec.name}"],
        }
        assert budget["amount"] == endpoint_amount(stack.config.budget, spec, len(stack.config.endpoints))
        assert budget["timeGrain"] == "Monthly"
        notes = budget["notifications"]
        assert sorted(n["threshold"] for n in notes.values()) == list(ENDPOINT_ALERT_PERCENT)
        for note in notes.values():
            assert note["thresholdType"] == "Actual"
            assert set(spec.owner_emails) | set(stack.config.budget.contact_emails) == set(
                note["contactEmails"]
            )
            assert set(note["contactGroups"]) <= groups
    dev_amounts = {s.name: endpoint_amount(stack.config.budget, s, 3) for s in stack.config.endpoints}
    if stack.config.env == "dev":
        assert dev_amounts["budget-optimizer"] == 400  # its own monthlyBudget
        assert dev_amounts["anomaly-detector"] == round(stack.config.budget.amount / 3, 2)
