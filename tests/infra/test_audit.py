"""The audit trail: the subscription's activity log reaches the stack's Log Analytics workspace."""

from __future__ import annotations

from kdap_infra.testing import ProgramRun


def test_the_activity_log_goes_to_the_stacks_log_analytics(stack: ProgramRun) -> None:
    (setting,) = stack.of_type("azure-native:monitor:SubscriptionDiagnosticSetting")
    inputs = setting.inputs
    assert inputs["workspaceId"] == stack.outputs["log_analytics_id"]
    assert {(entry["category"], entry["enabled"]) for entry in inputs["logs"]} == {
        ("Administrative", True),
        ("Security", True),
        ("Policy", True),
    }
    # Subscription-level settings are unique per subscription: dev and prod side by side need two names.
    assert inputs["name"] == f"kdap-{stack.config.prefix}-{stack.config.env}-activity-log"


def test_the_api_gateways_logs_go_to_the_stacks_log_analytics(stack: ProgramRun) -> None:
    # Who called which model, and what the gateway answered (GatewayLogs), is part of the audit trail.
    (service,) = stack.of_type("azure-native:apimanagement:ApiManagementService")
    name = service.inputs["serviceName"]
    (setting,) = [
        r.inputs
        for r in stack.of_type("azure-native:monitor:DiagnosticSetting")
        if r.inputs["resourceUri"].endswith(f"/providers/Microsoft.ApiManagement/service/{name}")
    ]
    assert setting["workspaceId"] == stack.outputs["log_analytics_id"]
    assert setting["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert setting["logAnalyticsDestinationType"] == "Dedicated"
