"""KQL for the log alerts. Kept apart so the contract with the operator (what it emits) is in one place."""

from __future__ import annotations

# The operator publishes its drift verdicts as this custom metric (Application Insights -> AppMetrics),
# with the endpoint's name in the `endpoint` property.
DRIFT_METRIC = "kdap.drift.distance"
# Ended batch runs (modeldeploy.observability.batch_runs): 1 per run, properties namespace, name, trigger and
# outcome (succeeded or failed).
BATCH_RUN_METRIC = "kdap.batch.runs"


def cpu_query(endpoint_name: str) -> str:
    """Deployment CPU from the diagnostic settings the operator puts on each deployment it creates.

    Deployments come and go with rollouts, so the alert selects them by their id under the endpoint rather
    than naming them; `has` matches case-insensitively, as ARM ids require.
    """
    return (
        "AzureMetrics\n"
        '| where ResourceProvider == "MICROSOFT.MACHINELEARNINGSERVICES"\n'
        '| where MetricName == "CpuUtilizationPercentage"\n'
        f'| where _ResourceId has "/onlineendpoints/{endpoint_name}/deployments/"\n'
        "| project TimeGenerated, _ResourceId, Average"
    )


def drift_query() -> str:
    return (
        "AppMetrics\n"
        f'| where Name == "{DRIFT_METRIC}"\n'
        '| extend endpoint = tostring(Properties["endpoint"])\n'
        "| project TimeGenerated, endpoint, Max"
    )


def batch_failed_query() -> str:
    """Failed batch runs per ModelDeployment (namespace/name): the alert fires when any failed."""
    return (
        "AppMetrics\n"
        f'| where Name == "{BATCH_RUN_METRIC}"\n'
        '| where tostring(Properties["outcome"]) == "failed"\n'
        '| extend modeldeployment = strcat(tostring(Properties["namespace"]), "/", '
        'tostring(Properties["name"]))\n'
        "| project TimeGenerated, modeldeployment, Sum"
    )
