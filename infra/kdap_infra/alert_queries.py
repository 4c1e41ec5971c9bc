"""KQL for the log alerts. Kept apart so the contract with the operator (what it emits) is in one place."""

from __future__ import annotations

from kdap_infra.llm_policy import QUOTA_HEADER
from modeldeploy.api import platform

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


# The LLM API's policy emits token counts (llm-emit-token-metric) as App Insights metrics, with the adapter
# and the revision as dimensions (kdap_infra.llm_policy.TOKEN_DIMENSIONS); the operator's analysis reads them.
TOKEN_METRIC = platform.LLM_TOTAL_TOKENS


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


# How API Management's Application Insights logging names a logged response header in AppRequests (the
# docs name the setting, not the property: README says how to check it on a first deployment).
LOGGED_RESPONSE_HEADER = "Response-{}"


def llm_blocked_query(api_path: str) -> str:
    """The share of the LLM API's requests content safety refused. llm-content-safety and a spent monthly
    token quota (llm-token-limit) both answer 403; the quota's 403 carries a remaining-quota header of 0
    (the LLM API's diagnostic logs that header), so those are left out. A 403 without the header still
    counts: should the header go missing the alert over-counts, it never goes silent."""
    quota_left = LOGGED_RESPONSE_HEADER.format(QUOTA_HEADER)
    return (
        "AppRequests\n"
        f'| where Url has "/{api_path}/"\n'
        # Absent or not a number: not spent (coalesce turns the null comparison into false).
        f'| extend QuotaSpent = coalesce(toint(tostring(Properties["{quota_left}"])) <= 0, false)\n'
        '| summarize BlockedPercent = 100.0 * countif(ResultCode == "403" and not(QuotaSpent)) / count()'
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
