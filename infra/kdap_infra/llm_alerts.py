"""Alerts on the LLM API: the day's tokens per adapter against the budget, p95 latency, and the share of
requests content safety blocked. Log alerts on the workspace, through the platform's action groups."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor

from kdap_infra.alert_queries import llm_blocked_query, llm_latency_query, llm_token_query
from kdap_infra.monitoring import CRITICAL, WARNING, Alerting
from kdap_infra.serverless_config import ServerlessConfig


def _above(
    query: str, aggregation: str, column: str, threshold: float, by_adapter: bool = False
) -> monitor.ConditionArgs:
    """``column`` of ``query`` above ``threshold`` in one evaluation: each LLM alert is one such condition."""
    return monitor.ConditionArgs(
        query=query,
        time_aggregation=aggregation,
        metric_measure_column=column,
        dimensions=[monitor.DimensionArgs(name="adapter", operator="Include", values=["*"])]
        if by_adapter
        else None,
        operator="GreaterThan",
        threshold=threshold,
        failing_periods=monitor.ConditionFailingPeriodsArgs(
            number_of_evaluation_periods=1, min_failing_periods_to_alert=1
        ),
    )


def llm_alerts(
    alerting: Alerting, logs: pulumi.Input[str], config: ServerlessConfig, api_path: str
) -> list[monitor.ScheduledQueryRule]:
    key = f"llm-{config.name}"
    tokens = alerting.log_alert(
        f"{key}-tokens",
        logs,
        WARNING,
        _above(llm_token_query(), "Total", "Sum", config.token_budget_per_day, by_adapter=True),
        f"an adapter of {config.name} used more than {config.token_budget_per_day} tokens in a day",
        window="P1D",
        frequency="PT1H",  # a day's budget: hourly is soon enough, and cheaper
    )
    latency = alerting.log_alert(
        f"{key}-latency",
        logs,
        WARNING,
        _above(llm_latency_query(api_path), "Maximum", "P95", config.latency_p95_ms),
        f"p95 latency of the {config.name} LLM API above {config.latency_p95_ms} ms",
    )
    blocked = alerting.log_alert(
        f"{key}-blocked",
        logs,
        CRITICAL,
        _above(llm_blocked_query(api_path), "Maximum", "BlockedPercent", config.blocked_percent),
        f"more than {config.blocked_percent:g} % of {config.name} requests blocked by content safety",
    )
    return [tokens, latency, blocked]
