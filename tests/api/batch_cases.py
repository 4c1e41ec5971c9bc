"""Batch ModelDeployments (spec.batch): a valid base and what the apiserver and the models must refuse.

Appended to ``mdep_cases.INVALID``, so the same cases run against pydantic and against the real apiserver
(tests/api/test_crd_cluster.py)."""

from __future__ import annotations

from typing import Any

from tests.api.mdep_cases import (
    Invalid,
    Manifest,
    _all,
    _set,
    azureml_shadow,
    kubernetes_canary,
    serverless_canary,
)


def batch_kubernetes() -> Manifest:
    return {
        "target": {
            "type": "kubernetes",
            "kubernetes": {
                "image": "ghcr.io/kdap/churn-batch:3.2.0",
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
            },
        },
        "model": {
            "name": "churn-predictor",
            "version": "3.2.0",
            "artifactUri": "file:///data/models/churn/3.2.0",
        },
        "batch": {
            "input": "file:///data/churn/customers/",
            "output": {"uri": "file:///data/churn/scores/{revision}"},
            "miniBatchSize": 500,
            "instanceCount": 2,
            "retries": {"maxRetries": 1, "timeout": "1h"},
            "schedules": [
                {"name": "monthly", "cron": {"expression": "0 2 1 * *", "timeZone": "Europe/Berlin"}}
            ],
            "dataArrival": {"uri": "file:///data/churn/incoming/", "pollInterval": "1m"},
            "rollout": {"input": "file:///data/churn/golden/", "maxRowCountDelta": 0.0, "maxErrorRate": 0.0},
        },
    }


def batch_azureml() -> Manifest:
    """The same model as an Azure ML batch endpoint: one batch deployment per revision on the platform's
    CPU cluster, outputs on the workspace's batch-outputs datastore."""
    target = azureml_shadow()["target"]
    del target["azureml"]["instanceType"]  # sizes online deployments; batch.compute sizes runs
    return {
        "target": target,
        "model": azureml_shadow()["model"],
        "batch": {
            "input": "azureml://datastores/churn/paths/customers/",
            "output": {
                "uri": "azureml://datastores/batch_outputs/paths/{namespace}/{name}/{revision}",
                "columns": ["id", "prediction"],  # append_row writes no header row
            },
            "compute": "cpu-cluster",
            "miniBatchSize": 500,
            "instanceCount": 2,
            "retries": {"maxRetries": 1, "timeout": "1h"},
            "schedules": [
                {"name": "monthly", "cron": {"expression": "0 2 1 * *", "timeZone": "Europe/Berlin"}}
            ],
            "dataArrival": {"uri": "azureml://datastores/churn/paths/incoming/", "pollInterval": "5m"},
            "rollout": {"input": "azureml://datastores/churn/paths/golden/"},
        },
    }


B = batch_kubernetes
A = batch_azureml
_ONLINE: dict[str, Any] = {"type": "canary", "canary": {"steps": [{"weight": 100}]}}

BATCH_INVALID: list[Invalid] = [
    Invalid(
        "batch-and-strategy",
        B,
        _set("strategy", _ONLINE),
        "spec.strategy",
        "spec.strategy (an online model) or spec.batch (a batch model) must be set, exactly one of them",
        "spec.strategy (an online model) or spec.batch (a batch model) must be set, exactly one of them",
    ),
    Invalid(
        "neither-batch-nor-strategy",
        kubernetes_canary,
        _set("strategy", None),
        "spec.strategy",
        "spec.strategy (an online model) or spec.batch (a batch model) must be set, exactly one of them",
        "spec.strategy (an online model) or spec.batch (a batch model) must be set, exactly one of them",
    ),
    Invalid(
        "batch-on-serverless",
        lambda: {**serverless_canary(), "strategy": None, "batch": B()["batch"]},
        _set("strategy", None),
        "spec.batch",
        "spec.batch needs a kubernetes or azureml target: a serverless endpoint has no batch deployments",
        "spec.batch needs a kubernetes or azureml target: a serverless endpoint has no batch deployments",
    ),
    Invalid(
        "batch-azureml-needs-compute",
        A,
        _set("batch.compute", None),
        "spec.batch",
        "spec.batch.compute (the Azure ML compute cluster runs use) is required on an azureml target",
        "spec.batch.compute (the Azure ML compute cluster runs use) is required on an azureml target",
    ),
    Invalid(
        "batch-kubernetes-takes-no-compute",
        B,
        _set("batch.compute", "cpu-cluster"),
        "spec.batch",
        "and not allowed on a kubernetes one",
        "and not allowed on a kubernetes one",
    ),
    Invalid(
        "batch-azureml-endpoint-managed",
        A,
        _all(_set("target.azureml.endpointKind", "kubernetes"), _set("target.azureml.compute", "aks")),
        "spec.target.azureml.endpointKind",
        "spec.batch on an azureml target needs target.azureml.endpointKind managed",
        "spec.batch on an azureml target needs target.azureml.endpointKind managed",
    ),
    Invalid(
        "batch-azureml-arrival-no-glob",
        A,
        _set("batch.dataArrival", {"uri": "azureml://datastores/churn/paths/incoming/*.csv"}),
        "spec.batch.dataArrival.uri",
        "spec.batch.dataArrival.uri on an azureml target must be a folder azureml://datastores/",
        "spec.batch.dataArrival.uri on an azureml target must be a folder azureml://datastores/",
    ),
    Invalid(
        "batch-azureml-arrival-on-a-datastore",
        A,
        _set("batch.dataArrival", {"uri": "abfss://incoming@kdapdata.dfs.core.windows.net/churn/"}),
        "spec.batch.dataArrival.uri",
        "each new file in it is scored by its own batch job",
        "each new file in it is scored by its own batch job",
    ),
    Invalid(
        "batch-azureml-no-instance-type",
        A,
        _set("target.azureml.instanceType", "Standard_DS3_v2"),
        "spec.target.azureml.instanceType",
        "target.azureml.instanceType sizes online deployments: a batch model's runs are sized by "
        "spec.batch.compute",
        "target.azureml.instanceType sizes online deployments: a batch model's runs are sized by "
        "spec.batch.compute",
    ),
    Invalid(
        "batch-azureml-rollout-names-columns",
        A,
        _set("batch.output.columns", None),
        "spec.batch.output",
        "spec.batch.output.columns is required for batch.rollout on an azureml target",
        "spec.batch.output.columns is required for batch.rollout on an azureml target",
    ),
    Invalid(
        "batch-prediction-column-among-columns",
        B,
        _set("batch.output.columns", ["id", "score"]),
        "spec.batch.rollout",
        "batch.rollout.predictions.column must be one of batch.output.columns",
        "batch.rollout.predictions.column must be one of batch.output.columns",
    ),
    Invalid(
        "batch-recurrence-needs-azureml",
        B,
        _set("batch.schedules", [{"name": "hourly", "recurrence": {"frequency": "hour", "interval": 2}}]),
        "spec.batch.schedules",
        "spec.batch.schedules[].recurrence needs an azureml target: a CronJob takes cron only",
        "spec.batch.schedules[].recurrence needs an azureml target: a CronJob takes cron only",
    ),
    Invalid(
        "batch-schedule-one-trigger",
        A,
        _set(
            "batch.schedules",
            [{"name": "both", "cron": {"expression": "0 2 * * *"}, "recurrence": {"frequency": "day"}}],
        ),
        "spec.batch.schedules[0]",
        "batch.schedules[] needs exactly one of cron and recurrence",
        "batch.schedules[] needs exactly one of cron and recurrence",
    ),
    Invalid(
        "batch-recurrence-week-days-weekly",
        A,
        _set("batch.schedules", [{"name": "d", "recurrence": {"frequency": "day", "weekDays": ["monday"]}}]),
        "spec.batch.schedules[0].recurrence.weekDays",
        "recurrence.weekDays needs frequency week",
        "recurrence.weekDays needs frequency week",
    ),
    Invalid(
        "batch-recurrence-times-of-day",
        A,
        _set("batch.schedules", [{"name": "m", "recurrence": {"frequency": "minute", "hours": [2]}}]),
        "spec.batch.schedules[0].recurrence.frequency",
        "recurrence.hours and recurrence.minutes need frequency day, week or month",
        "recurrence.hours and recurrence.minutes need frequency day, week or month",
    ),
    Invalid(
        "batch-azureml-output-on-datastore",
        A,
        _set("batch.output.uri", "abfss://scores@stkdap.dfs.core.windows.net/churn"),
        "spec.batch.output.uri",
        "spec.batch.output.uri must be an azureml://datastores/<name>/paths/... URI on an azureml target",
        "spec.batch.output.uri must be an azureml://datastores/<name>/paths/... URI on an azureml target",
    ),
    Invalid(
        "batch-with-analysis",
        B,
        _set("analysis", kubernetes_canary()["analysis"]),
        "spec.batch",
        "spec.batch takes no autoscaling, analysis or validation",
        "spec.batch takes no autoscaling, analysis or validation",
    ),
    Invalid(
        "batch-schedules-need-input",
        B,
        _set("batch.input", None),
        "spec.batch.input",
        "batch.schedules need batch.input (what a scheduled run scores)",
        "batch.schedules need batch.input (what a scheduled run scores)",
    ),
    Invalid(
        "batch-rollout-needs-rows",
        B,
        _set("batch.output.action", "summaryOnly"),
        "spec.batch.rollout",
        "batch.rollout compares scored rows, so batch.output.action must be appendRow",
        "batch.rollout compares scored rows, so batch.output.action must be appendRow",
    ),
    Invalid(
        "batch-output-not-a-data-uri",
        B,
        _set("batch.output.uri", "s3://bucket/scores"),
        "spec.batch.output.uri",
        "should match",
        "uri\n  String should match pattern",
    ),
    Invalid(
        "batch-poll-interval-bounds",
        B,
        _set("batch.dataArrival.pollInterval", "1s"),
        "spec.batch.dataArrival.pollInterval",
        "batch.dataArrival.pollInterval must be at least 5s and at most 24h",
        "batch.dataArrival.pollInterval must be at least 5s and at most 24h",
    ),
    Invalid(
        "batch-retry-timeout-bounds",
        B,
        _set("batch.retries.timeout", "48h"),
        "spec.batch.retries.timeout",
        "batch.retries.timeout must be at least 10s and at most 24h",
        "batch.retries.timeout must be at least 10s and at most 24h",
    ),
    Invalid(
        "batch-instance-count",
        B,
        _set("batch.instanceCount", 0),
        "spec.batch.instanceCount",
        "should be greater than or equal to 1",
        "instanceCount\n  Input should be greater than or equal to 1",
    ),
    Invalid(
        "online-k8s-needs-gateway",
        kubernetes_canary,
        _set("target.kubernetes.gateway", None),
        "spec.target.kubernetes.gateway",
        "target.kubernetes.gateway is required for an online model (the HTTPRoute's parent)",
        "target.kubernetes.gateway is required for an online model (the HTTPRoute's parent)",
    ),
    Invalid(
        "batch-schedule-name-unique",
        B,
        _all(
            _set(
                "batch.schedules",
                [
                    {"name": "a", "cron": {"expression": "0 2 * * *"}},
                    {"name": "a", "cron": {"expression": "0 3 * * *"}},
                ],
            )
        ),
        "spec.batch.schedules",
        "Duplicate value",
        "batch.schedules[].name must be unique (each is one CronJob)",
    ),
]
