"""Diagnostic settings: every resource that can log sends its logs and metrics to the one Log Analytics."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor


def send_to_log_analytics(
    name: str,
    *,
    target_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    parent: pulumi.Resource,
    log_group: str | None = "allLogs",
    metrics: bool = True,
) -> monitor.DiagnosticSetting:
    """`log_group` is a category group (allLogs, audit) or None for resources that only emit metrics."""
    logs = [monitor.DiagnosticsLogSettingsArgs(category_group=log_group, enabled=True)] if log_group else None
    return monitor.DiagnosticSetting(
        f"{name}-diag",
        name="to-log-analytics",
        resource_uri=target_id,
        workspace_id=workspace_id,
        # Resource-specific tables: typed columns and cheaper queries than AzureDiagnostics.
        log_analytics_destination_type="Dedicated",
        logs=logs,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)]
        if metrics
        else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )


# The activity log's categories an audit needs: who changed what (Administrative), security alerts, and
# Azure Policy's evaluations. Routed once per stack; subscription-level settings are unique per subscription,
# so the setting's name carries the stack.
AUDIT_CATEGORIES = ("Administrative", "Security", "Policy")


def activity_log_to_log_analytics(
    stack: str, workspace_id: pulumi.Input[str], parent: pulumi.Resource
) -> monitor.SubscriptionDiagnosticSetting:
    return monitor.SubscriptionDiagnosticSetting(
        "activity-log-diag",
        name=f"kdap-{stack}-activity-log",
        workspace_id=workspace_id,
        logs=[monitor.SubscriptionLogSettingsArgs(category=c, enabled=True) for c in AUDIT_CATEGORIES],
        opts=pulumi.ResourceOptions(parent=parent),
    )
