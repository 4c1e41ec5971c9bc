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


# The LLM API's policy emits token counts (llm-emit-token-metric) as these App Insights metrics, with the
# adapter and the revision as dimensions (kdap_infra.llm_policy.TOKEN_DIMENSIONS).
TOKEN_METRIC = "Total Tokens"


def llm_token_query() -> str:
    return (
        "AppMetrics\n"
        f'| where Name == "{TOKEN_METRIC}"\n'
        '| extend adapter = tostring(Properties["adapter"])\n'
        "| project TimeGenerated, adapter, Sum"
    )


def llm_latency_query(api_path: str) -> str:
    """p95 of the LLM API's own request durations (API Management's App Insights logging), per 5 minutes."""
    return (
        "AppRequests\n"
        f'| where Url has "/{api_path}/"\n'
        "| summarize P95 = percentile(DurationMs, 95) by bin(TimeGenerated, 5m)"
    )


def llm_blocked_query(api_path: str) -> str:
    """The share of the LLM API's requests answered 403: content safety's blocks (and spent monthly token
    quotas, whose callers also see x-kdap-remaining-quota-tokens: 0)."""
    return (
        "AppRequests\n"
        f'| where Url has "/{api_path}/"\n'
        '| summarize BlockedPercent = 100.0 * countif(ResultCode == "403") / count()'
        " by bin(TimeGenerated, 5m)"
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


def aml_job_failed_query() -> str:
    """Azure ML jobs that failed, from the workspace's own logs: every batch run is one (a batch endpoint's
    job), and so is each schedule's invoking step. Top-level jobs only, one row each; the operator's
    batch-failed alert names the ModelDeployment, this one still fires when the operator is down or a
    schedule's step failed before any batch job existed."""
    return (
        "AmlRunStatusChangedEvent\n"
        '| where Status == "Failed" and isempty(ParentRunId)\n'
        "| extend job = RunId, Failed = 1\n"
        "| project TimeGenerated, job, Failed"
    )
