"""Alerts on the LLM API: the day's tokens per adapter against the budget, p95 latency, and the share of
requests content safety blocked. Log alerts on the workspace, through the platform's action groups."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor

from kdap_infra.alert_queries import llm_blocked_query, llm_latency_query, llm_token_query
from kdap_infra.monitoring import CRITICAL, WARNING, Alerting, above
from kdap_infra.serverless_config import ServerlessConfig


def llm_alerts(
    alerting: Alerting, logs: pulumi.Input[str], config: ServerlessConfig, api_path: str
) -> list[monitor.ScheduledQueryRule]:
    key = f"llm-{config.name}"
    tokens = alerting.log_alert(
        f"{key}-tokens",
        logs,
        WARNING,
        above(llm_token_query(), "Total", "Sum", config.token_budget_per_day, by="adapter"),
        f"an adapter of {config.name} used more than {config.token_budget_per_day} tokens in a day",
        window="P1D",
        frequency="PT1H",  # a day's budget: hourly is soon enough, and cheaper
    )
    latency = alerting.log_alert(
        f"{key}-latency",
        logs,
        WARNING,
        above(llm_latency_query(api_path), "Maximum", "P95", config.latency_p95_ms),
        f"p95 latency of the {config.name} LLM API above {config.latency_p95_ms} ms",
    )
    blocked = alerting.log_alert(
        f"{key}-blocked",
        logs,
        CRITICAL,
        above(llm_blocked_query(api_path), "Maximum", "BlockedPercent", config.blocked_percent),
        f"more than {config.blocked_percent:g} % of {config.name} requests blocked by content safety",
    )
    return [tokens, latency, blocked]
