"""Alerts on the LLM API: the day's tokens per adapter against the budget, p95 latency, and the share of
requests content safety blocked. Log alerts on the workspace, through the platform's action groups."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor

from kdap_infra.alert_queries import llm_blocked_query, llm_latency_query, llm_token_query
from kdap_infra.monitoring import CRITICAL, WARNING, Alerting
from kdap_infra.serverless_config import ServerlessConfig


def _once() -> monitor.ConditionFailingPeriodsArgs:
    return monitor.ConditionFailingPeriodsArgs(number_of_evaluation_periods=1, min_failing_periods_to_alert=1)


def llm_alerts(
    alerting: Alerting, logs: pulumi.Input[str], config: ServerlessConfig, api_path: str
) -> list[monitor.ScheduledQueryRule]:
    key = f"llm-{config.name}"
    tokens = alerting.log_alert(
        f"{key}-tokens",
        logs,
        WARNING,
        monitor.ConditionArgs(
            query=llm_token_query(),
            time_aggregation="Total",
            metric_measure_column="Sum",
            dimensions=[monitor.DimensionArgs(name="adapter", operator="Include", values=["*"])],
            operator="GreaterThan",
            threshold=config.token_budget_per_day,
            failing_periods=_once(),
        ),
        f"an adapter of {config.name} used more than {config.token_budget_per_day} tokens in a day",
        window="P1D",
        frequency="PT1H",  # a day's budget: hourly is soon enough, and cheaper
    )
    latency = alerting.log_alert(
        f"{key}-latency",
        logs,
        WARNING,
        monitor.ConditionArgs(
            query=llm_latency_query(api_path),
            time_aggregation="Maximum",
            metric_measure_column="P95",
            operator="GreaterThan",
            threshold=config.latency_p95_ms,
            failing_periods=_once(),
        ),
        f"p95 latency of the {config.name} LLM API above {config.latency_p95_ms} ms",
    )
    blocked = alerting.log_alert(
        f"{key}-blocked",
        logs,
        CRITICAL,
        monitor.ConditionArgs(
            query=llm_blocked_query(api_path),
            time_aggregation="Maximum",
            metric_measure_column="BlockedPercent",
            operator="GreaterThan",
            threshold=config.blocked_percent,
            failing_periods=_once(),
        ),
        f"more than {config.blocked_percent:g} % of {config.name} requests blocked by content safety",
    )
    return [tokens, latency, blocked]
