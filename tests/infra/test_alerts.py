"""Action groups, per-endpoint alerts and their thresholds, the drift alert and the budget."""

from __future__ import annotations

from typing import Any

from kdap_infra.testing import ProgramRun


def action_groups(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in run.of_type("azure-native:monitor:ActionGroup")}


def group_id(run: ProgramRun, severity: str) -> str:
    key = f"{severity}_action_group_id"
    value: str = run.outputs[key]
    return value


def alert(run: ProgramRun, token: str, key: str) -> dict[str, Any]:
    return run.named(token, f"alert-{key}").inputs


def test_critical_goes_to_on_call_and_warning_to_dev_team(stack: ProgramRun) -> None:
    groups = action_groups(stack)
    emails = {k: [r["emailAddress"] for r in g["emailReceivers"]] for k, g in groups.items()}
    assert emails == {
        "ag-critical": stack.config.alerts.on_call_emails,
        "ag-warning": stack.config.alerts.dev_team_emails,
    }
    assert all(len(g["groupShortName"]) <= 12 for g in groups.values())


def test_latency_alert_uses_per_endpoint_override(dev: ProgramRun) -> None:
    churn = alert(dev, "azure-native:monitor:MetricAlert", "budget-optimizer-latency-p99")
    recommender = alert(dev, "azure-native:monitor:MetricAlert", "propensity-scorer-latency-p99")
    assert churn["criteria"]["allOf"][0]["metricName"] == "RequestLatency_P99"
    assert churn["criteria"]["allOf"][0]["threshold"] == 800  # alerts.latencyP99Ms in Pulumi.dev.yaml
    assert recommender["criteria"]["allOf"][0]["threshold"] == 250  # the endpoint's own latencyP99Ms
    assert churn["scopes"] == [dev.outputs["online_endpoint_ids"]["budget-optimizer"]]
    assert churn["actions"] == [{"actionGroupId": group_id(dev, "warning")}]


def test_error_rate_counts_5xx_from_requests_per_minute(stack: ProgramRun) -> None:
    for endpoint in stack.config.endpoints:
        rule = alert(stack, "azure-native:monitor:MetricAlert", f"{endpoint.name}-server-errors")
        (criterion,) = rule["criteria"]["allOf"]
        assert criterion["metricName"] == "RequestsPerMinute"
        assert criterion["dimensions"] == [
            {"name": "statusCodeClass", "operator": "Include", "values": ["5xx"]}
        ]
        assert criterion["threshold"] == stack.config.alerts.server_errors_per_minute
        assert rule["severity"] == 1
        assert rule["actions"] == [{"actionGroupId": group_id(stack, "critical")}]
        assert rule["criteria"]["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"


def test_cpu_alert_watches_the_endpoints_deployments(prod: ProgramRun) -> None:
    rule = alert(prod, "azure-native:monitor:ScheduledQueryRule", "anomaly-detector-cpu")
    (condition,) = rule["criteria"]["allOf"]
    assert condition["threshold"] == 80
    assert "CpuUtilizationPercentage" in condition["query"]
    assert "/onlineendpoints/kdap-anomaly-detector-p4k9/deployments/" in condition["query"]
    assert condition["resourceIdColumn"] == "_ResourceId"
    assert rule["scopes"] == [prod.outputs["log_analytics_id"]]


def test_drift_alert_threshold_from_config(stack: ProgramRun) -> None:
    rule = alert(stack, "azure-native:monitor:ScheduledQueryRule", "drift")
    (condition,) = rule["criteria"]["allOf"]
    assert condition["threshold"] == stack.config.alerts.drift_threshold
    assert stack.outputs["drift_metric_name"] in condition["query"]
    assert condition["dimensions"] == [{"name": "endpoint", "operator": "Include", "values": ["*"]}]
    assert rule["skipQueryValidation"] is True
    assert rule["windowSize"] == "PT1H"


def test_budget_has_actual_and_forecast_thresholds(prod: ProgramRun) -> None:
    budget = prod.named("azure-native:consumption:Budget", "budget")  # the stack's; per endpoint: test_costs
    inputs = budget.inputs
    assert inputs["amount"] == 20000
    assert inputs["timeGrain"] == "Monthly"
    assert inputs["scope"].endswith("/resourceGroups/kdap-prod-rg")
    kinds = {k: (n["thresholdType"], n["threshold"]) for k, n in inputs["notifications"].items()}
    assert kinds == {
        "actual-80": ("Actual", 80),
        "actual-100": ("Actual", 100),
        "forecast-90": ("Forecasted", 90),
        "forecast-110": ("Forecasted", 110),
    }
    critical = group_id(prod, "critical")
    assert inputs["notifications"]["actual-100"]["contactGroups"] == [critical]
    assert inputs["notifications"]["actual-80"]["contactGroups"] == [group_id(prod, "warning")]


def test_a_failed_batch_run_alerts_per_model_deployment(stack: ProgramRun) -> None:
    rule = alert(stack, "azure-native:monitor:ScheduledQueryRule", "batch-failed")
    (condition,) = rule["criteria"]["allOf"]
    assert (condition["operator"], condition["threshold"]) == ("GreaterThan", 0)
    assert (condition["timeAggregation"], condition["metricMeasureColumn"]) == ("Total", "Sum")
    assert f'Name == "{stack.outputs["batch_run_metric_name"]}"' in condition["query"]
    assert 'Properties["outcome"]) == "failed"' in condition["query"]
    assert [d["name"] for d in condition["dimensions"]] == ["modeldeployment"]
    assert rule["windowSize"] == "PT15M"
    assert rule["scopes"] == [stack.outputs["log_analytics_id"]]


def test_a_failed_azure_ml_job_alerts_per_job_from_the_workspace_logs(stack: ProgramRun) -> None:
    rule = alert(stack, "azure-native:monitor:ScheduledQueryRule", "aml-job-failed")
    (condition,) = rule["criteria"]["allOf"]
    assert condition["query"].startswith("AmlRunStatusChangedEvent\n")  # the workspace's diagnostic logs
    assert 'Status == "Failed" and isempty(ParentRunId)' in condition["query"]  # jobs, not their steps
    assert (condition["operator"], condition["threshold"]) == ("GreaterThan", 0)
    assert (condition["timeAggregation"], condition["metricMeasureColumn"]) == ("Total", "Failed")
    assert [d["name"] for d in condition["dimensions"]] == ["job"]
    assert rule["windowSize"] == "PT15M"
    assert rule["scopes"] == [stack.outputs["log_analytics_id"]]
    assert rule["actions"]["actionGroups"] == [group_id(stack, "warning")]


def test_batch_outputs_have_their_own_container_and_datastore(stack: ProgramRun) -> None:
    containers = {r.inputs["containerName"]: r for r in stack.of_type("azure-native:storage:BlobContainer")}
    assert containers["batch-outputs"].inputs["publicAccess"] == "None"
    stores = {
        r.inputs["name"]: r.inputs["properties"]
        for r in stack.of_type("azure-native:machinelearningservices:Datastore")
    }
    assert stores["batch_outputs"]["containerName"] == "batch-outputs"
    assert stores["batch_outputs"]["credentials"] == {"credentialsType": "None"}  # identity-based
