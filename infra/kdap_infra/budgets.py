"""A consumption budget per served model: its online endpoint, its deployments (the operator's) and its
alerts, found by the contract's `modeldeployment` cost tag that infra and the operator both write."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import consumption

from kdap_infra.endpoints_config import EndpointConfig
from kdap_infra.monitoring_config import BudgetConfig
from kdap_infra.naming import Naming
from modeldeploy.api import platform

# Owners hear at 80 % (time to act) and 100 % (over budget) of actual spend.
ENDPOINT_ALERT_PERCENT = (80.0, 100.0)


def endpoint_amount(budget: BudgetConfig, spec: EndpointConfig, endpoints: int) -> float:
    """The endpoint's own amount, else the stack's per-endpoint amount, else an equal share of the total."""
    return spec.monthly_budget or budget.per_endpoint_amount or round(budget.amount / endpoints, 2)


def endpoint_budget(
    parent: pulumi.Resource,
    naming: Naming,
    budget: BudgetConfig,
    spec: EndpointConfig,
    endpoints: int,
    resource_group_id: pulumi.Input[str],
    groups: tuple[pulumi.Input[str], pulumi.Input[str]],
) -> consumption.Budget:
    """``groups``: the warning and critical action groups (80 % warns, 100 % is critical)."""
    emails = list(dict.fromkeys([*spec.owner_emails, *budget.contact_emails]))
    notifications = {
        f"actual-{pct:g}": consumption.NotificationArgs(
            enabled=True,
            operator="GreaterThanOrEqualTo",
            threshold=pct,
            threshold_type="Actual",
            contact_emails=emails,
            contact_groups=[groups[1] if pct >= 100 else groups[0]],
        )
        for pct in ENDPOINT_ALERT_PERCENT
    }
    return consumption.Budget(
        f"budget-{spec.name}",
        budget_name=naming.name(f"budget-{spec.name}"),
        scope=resource_group_id,
        amount=endpoint_amount(budget, spec, endpoints),
        category="Cost",
        time_grain="Monthly",
        time_period=consumption.BudgetTimePeriodArgs(start_date=f"{budget.start_date}T00:00:00Z"),
        filter=consumption.BudgetFilterArgs(
            tags=consumption.BudgetComparisonExpressionArgs(
                name=platform.COST_TAG_DEPLOYMENT,
                operator="In",
                values=[f"{spec.namespace}/{spec.name}"],
            )
        ),
        notifications=notifications,
        opts=pulumi.ResourceOptions(parent=parent),
    )
