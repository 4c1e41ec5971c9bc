"""Stack rules: each online endpoint is watched for latency and errors, spend has a budget, and the workspace,
Key Vault and API Management send their logs to Log Analytics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity
from pydantic import Field

from kdap_policies import builtins
from kdap_policies.config import PolicyConfig
from kdap_policies.graph import Stack, StackResource, present
from kdap_policies.resource import as_strings, is_false, is_true, mappings
from kdap_policies.rules import AnyStackRule, StackFinding, StackRule

ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
BUDGET = "azure-native:consumption:Budget"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
LOGGED = {
    "azure-native:machinelearningservices:Workspace": builtins.ML_RESOURCE_LOGS,
    "azure-native:keyvault:Vault": builtins.KV_RESOURCE_LOGS,
    "azure-native:apimanagement:ApiManagementService": builtins.APIM_LOGS,
}


class AlertsConfig(PolicyConfig):
    latency_metrics: tuple[str, ...] = Field(
        default=("RequestLatency_P90", "RequestLatency_P95", "RequestLatency_P99"),
        min_length=1,
        description="Endpoint metrics that count as a tail-latency alert.",
    )
    max_latency_threshold_ms: float = Field(
        default=2000, gt=0, description="Highest latency threshold (ms) that still counts as an alert."
    )
    error_metric: str = Field(
        default="RequestsPerMinute", description="Endpoint metric split by status class."
    )
    error_status_class: str = Field(default="5xx", description="statusCodeClass value that marks an error.")


def _criteria(alert: StackResource) -> list[Mapping[str, Any]]:
    return mappings(alert.get("criteria.allOf"))


def _is_latency(criterion: Mapping[str, Any], config: AlertsConfig) -> bool:
    if criterion.get("metricName") not in config.latency_metrics:
        return False
    threshold = criterion.get("threshold")  # dynamic criteria have none and adapt on their own
    return threshold is None or (
        isinstance(threshold, int | float) and threshold <= config.max_latency_threshold_ms
    )


def _is_error(criterion: Mapping[str, Any], config: AlertsConfig) -> bool:
    if criterion.get("metricName") != config.error_metric:
        return False
    return any(
        str(d.get("name", "")).lower() == "statuscodeclass"
        and config.error_status_class in as_strings(d.get("values"))
        and str(d.get("operator", "Include")).lower() == "include"
        for d in mappings(criterion.get("dimensions"))
    )


def _live(alert: StackResource) -> bool:
    """An alert that is enabled and tells someone (an action group)."""
    groups = [present(a, "actionGroupId") for a in mappings(alert.get("actions"))]
    return not is_false(alert.get("enabled")) and any(groups)


def _endpoint_alerts(stack: Stack, config: AlertsConfig) -> Iterator[StackFinding]:
    alerts = stack.of_type(METRIC_ALERT)
    for endpoint in stack.of_type(ENDPOINT):
        watching = [a for a in alerts if stack.refers_to(a, "scopes", endpoint) and _live(a)]
        criteria = [c for a in watching for c in _criteria(a)]
        if not any(_is_latency(c, config) for c in criteria):
            yield StackFinding(
                "alerts",
                f"include no enabled metric alert with an action group on {'/'.join(config.latency_metrics)}"
                f" at or below {config.max_latency_threshold_ms:g} ms",
                "add a monitor.MetricAlert scoped to the endpoint on RequestLatency_P99 with an action group",
                subject=endpoint,
            )
        if not any(_is_error(c, config) for c in criteria):
            yield StackFinding(
                "alerts",
                f"include no enabled metric alert with an action group on {config.error_metric} where "
                f"statusCodeClass includes {config.error_status_class}",
                f"add a monitor.MetricAlert scoped to the endpoint on {config.error_metric} with dimension "
                f"statusCodeClass={config.error_status_class} and an action group",
                subject=endpoint,
            )


class BudgetConfig(PolicyConfig):
    max_amount: float = Field(default=1e9, gt=0, description="Largest budget amount the stack may declare.")


def _budget(stack: Stack, config: BudgetConfig) -> Iterator[StackFinding]:
    budgets = stack.of_type(BUDGET)
    if not budgets:
        yield StackFinding(
            "resources",
            "include no consumption.Budget",
            "declare a consumption.Budget on the resource group with notifications",
        )
    for budget in budgets:
        amount = budget.get("amount")
        if not isinstance(amount, int | float) or not 0 < amount <= config.max_amount:
            yield StackFinding(
                "amount",
                f"is {amount!r}, not in (0, {config.max_amount:g}]",
                "set a positive amount within the stack's limit",
                subject=budget,
            )
        if not any(_notifies(n) for n in _notification_values(budget)):
            yield StackFinding(
                "notifications",
                "has no enabled notification with a threshold and recipients",
                "add notifications={'actual_80': {'enabled': True, 'threshold': 80, 'operator': "
                "'GreaterThan', 'contact_emails': [...]}}",
                subject=budget,
            )


def _notification_values(budget: StackResource) -> list[Mapping[str, Any]]:
    notes = budget.get("notifications")
    return [n for n in notes.values() if isinstance(n, Mapping)] if isinstance(notes, Mapping) else []


def _notifies(note: Mapping[str, Any]) -> bool:
    recipients = [
        *as_strings(note.get("contactEmails")),
        *as_strings(note.get("contactGroups")),
        *as_strings(note.get("contactRoles")),
    ]
    return (
        is_true(note.get("enabled")) and isinstance(note.get("threshold"), int | float) and bool(recipients)
    )


class DiagnosticsConfig(PolicyConfig):
    pass


def _sends_logs(setting: StackResource) -> bool:
    logs = mappings(setting.get("logs"))
    return setting.present("workspaceId") and any(is_true(entry.get("enabled")) for entry in logs)


def _diagnostics(stack: Stack, config: DiagnosticsConfig) -> Iterator[StackFinding]:
    settings = stack.of_type(DIAGNOSTIC_SETTING)
    for target in stack.of_type(*LOGGED):
        if not any(stack.refers_to(s, "resourceUri", target) and _sends_logs(s) for s in settings):
            yield StackFinding(
                "diagnosticSettings",
                "include none that sends enabled logs to a Log Analytics workspace",
                "add a monitor.DiagnosticSetting with resource_uri=<this id>, workspace_id=<Log Analytics id>"
                " and logs=[{'category_group': 'allLogs', 'enabled': True}]",
                subject=target,
                builtin=LOGGED[target.type],
            )


RULES: tuple[AnyStackRule, ...] = (
    StackRule(
        "endpoint-alerts",
        "Every online endpoint has latency and error-rate alerts that notify someone.",
        _endpoint_alerts,
        AlertsConfig,
    ),
    StackRule(
        "budget-exists",
        "The stack declares a budget that notifies someone.",
        _budget,
        BudgetConfig,
        severity=Severity.MEDIUM,
    ),
    StackRule(
        "diagnostics-to-log-analytics",
        "ML workspaces, key vaults and API Management send resource logs to Log Analytics.",
        _diagnostics,
        DiagnosticsConfig,
        tuple(LOGGED.values()),
    ),
)
