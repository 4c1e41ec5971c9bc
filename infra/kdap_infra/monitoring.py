"""Alerting: action groups, per-endpoint alerts, the drift and failed-batch-run alerts, and the budget."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import consumption, monitor
from pulumi_azure_native import machinelearningservices as ml

from kdap_infra.alert_queries import aml_job_failed_query, batch_failed_query, cpu_query, drift_query
from kdap_infra.budgets import endpoint_budget
from kdap_infra.endpoints_config import EndpointConfig
from kdap_infra.monitoring_config import AlertsConfig, BudgetConfig
from kdap_infra.site import Placement

ENDPOINT_NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
CRITICAL, WARNING = 1, 2  # Azure Monitor severities


def above(
    query: str, aggregation: str, column: str, threshold: float, by: str | None = None
) -> monitor.ConditionArgs:
    """``column`` of ``query`` above ``threshold`` in one evaluation, one alert per value of ``by``: the
    condition every log alert of the platform is."""
    return monitor.ConditionArgs(
        query=query,
        time_aggregation=aggregation,
        metric_measure_column=column,
        dimensions=[monitor.DimensionArgs(name=by, operator="Include", values=["*"])] if by else None,
        operator="GreaterThan",
        threshold=threshold,
        failing_periods=monitor.ConditionFailingPeriodsArgs(
            number_of_evaluation_periods=1, min_failing_periods_to_alert=1
        ),
    )


class Alerting(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        alerts: AlertsConfig,
        budget: BudgetConfig,
        specs: Sequence[EndpointConfig],
        endpoints: dict[str, ml.OnlineEndpoint],
        resource_group_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:monitoring:Alerting", name, None, opts)
        self._alerts, self._location = alerts, place.site.location
        self._naming, self._rg = place.naming, place.resource_group_name
        self.critical = self._action_group("critical", "kdap-crit", alerts.on_call_emails)
        self.warning = self._action_group("warning", "kdap-warn", alerts.dev_team_emails)
        for spec in specs:
            self._endpoint_alerts(spec, endpoints[spec.name], place.log_analytics_id)
        self._drift_alert(place.log_analytics_id)
        self._batch_alert(place.log_analytics_id)
        self._job_alert(place.log_analytics_id)
        self.budget = self._budget(budget, resource_group_id)
        self._budget_config, self._rg_id, self._specs = budget, resource_group_id, len(specs)
        self.endpoint_budgets = {spec.name: self._endpoint_budget(spec, len(specs)) for spec in specs}
        self.register_outputs(
            {"critical_action_group_id": self.critical.id, "warning_action_group_id": self.warning.id}
        )

    def watch_endpoint(
        self, spec: EndpointConfig, endpoint: ml.OnlineEndpoint, logs: pulumi.Input[str]
    ) -> None:
        """An online endpoint declared outside `endpoints` (the managed LLM's): the same alerts and budget,
        its default amount an equal share counting it too."""
        self._endpoint_alerts(spec, endpoint, logs)
        self.endpoint_budgets[spec.name] = self._endpoint_budget(spec, self._specs + 1)

    def _endpoint_budget(self, spec: EndpointConfig, endpoints: int) -> consumption.Budget:
        groups = (self.warning.id, self.critical.id)
        return endpoint_budget(self, self._naming, self._budget_config, spec, endpoints, self._rg_id, groups)

    def _action_group(self, severity: str, short_name: str, emails: list[str]) -> monitor.ActionGroup:
        return monitor.ActionGroup(
            f"ag-{severity}",
            action_group_name=self._naming.name(f"ag-{severity}"),
            resource_group_name=self._rg,
            location="global",
            group_short_name=short_name,
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"{severity}-{i}", email_address=email, use_common_alert_schema=True
                )
                for i, email in enumerate(emails)
            ],
            tags=self._naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _endpoint_alerts(
        self, spec: EndpointConfig, endpoint: ml.OnlineEndpoint, logs: pulumi.Input[str]
    ) -> None:
        alerts = self._alerts
        latency = spec.latency_p99_ms or alerts.latency_p99_ms
        tags = self._naming.model_tags(spec.name, spec.namespace, spec.team)
        self._metric_alert(
            f"{spec.name}-latency-p99",
            endpoint,
            WARNING,
            monitor.MetricCriteriaArgs(
                criterion_type="StaticThresholdCriterion",
                name="latency-p99",
                metric_name="RequestLatency_P99",
                metric_namespace=ENDPOINT_NAMESPACE,
                operator="GreaterThan",
                threshold=latency,
                time_aggregation="Average",
            ),
            f"p99 latency above {latency:g} ms for 5 minutes",
            tags=tags,
        )
        self._metric_alert(
            f"{spec.name}-server-errors",
            endpoint,
            CRITICAL,
            monitor.MetricCriteriaArgs(
                criterion_type="StaticThresholdCriterion",
                name="server-errors",
                # No error metric exists: count the 5xx status class of RequestsPerMinute.
                metric_name="RequestsPerMinute",
                metric_namespace=ENDPOINT_NAMESPACE,
                dimensions=[
                    monitor.MetricDimensionArgs(name="statusCodeClass", operator="Include", values=["5xx"])
                ],
                operator="GreaterThan",
                threshold=alerts.server_errors_per_minute,
                time_aggregation="Average",
            ),
            f"more than {alerts.server_errors_per_minute:g} 5xx responses per minute for 5 minutes",
            tags=tags,
        )
        self.log_alert(
            f"{spec.name}-cpu",
            logs,
            WARNING,
            monitor.ConditionArgs(
                query=cpu_query(self._naming.regional_name(spec.name)),
                time_aggregation="Average",
                metric_measure_column="Average",
                resource_id_column="_ResourceId",
                operator="GreaterThan",
                threshold=alerts.cpu_percent,
                failing_periods=monitor.ConditionFailingPeriodsArgs(
                    number_of_evaluation_periods=3, min_failing_periods_to_alert=3
                ),
            ),
            f"a deployment of {spec.name} above {alerts.cpu_percent:g}% CPU for 15 minutes: add capacity",
            tags=tags,
        )

    def _metric_alert(
        self,
        key: str,
        endpoint: ml.OnlineEndpoint,
        severity: int,
        criterion: monitor.MetricCriteriaArgs,
        text: str,
        tags: dict[str, str] | None = None,
    ) -> monitor.MetricAlert:
        return monitor.MetricAlert(
            f"alert-{key}",
            rule_name=self._naming.name(key),
            resource_group_name=self._rg,
            location="global",
            description=text,
            severity=severity,
            enabled=True,
            scopes=[endpoint.id],
            target_resource_type=ENDPOINT_NAMESPACE,
            evaluation_frequency="PT1M",
            window_size="PT5M",
            auto_mitigate=True,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", all_of=[criterion]
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=self._group(severity).id)],
            tags=tags or self._naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def log_alert(
        self,
        key: str,
        logs: pulumi.Input[str],
        severity: int,
        condition: monitor.ConditionArgs,
        text: str,
        window: str = "PT5M",
        tags: dict[str, str] | None = None,
        frequency: str = "PT5M",
    ) -> monitor.ScheduledQueryRule:
        return monitor.ScheduledQueryRule(
            f"alert-{key}",
            rule_name=self._naming.name(key),
            resource_group_name=self._rg,
            location=self._location,
            kind="LogAlert",
            description=text,
            severity=severity,
            enabled=True,
            scopes=[logs],
            evaluation_frequency=frequency,
            window_size=window,
            # The tables fill only once the operator's deployments report; validating now would fail.
            skip_query_validation=True,
            auto_mitigate=True,
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[condition]),
            actions=monitor.ActionsArgs(action_groups=[self._group(severity).id]),
            tags=tags or self._naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _drift_alert(self, logs: pulumi.Input[str]) -> None:
        threshold = self._alerts.drift_threshold
        self.log_alert(
            "drift",
            logs,
            WARNING,
            monitor.ConditionArgs(
                query=drift_query(),
                time_aggregation="Maximum",
                metric_measure_column="Max",
                dimensions=[monitor.DimensionArgs(name="endpoint", operator="Include", values=["*"])],
                operator="GreaterThan",
                threshold=threshold,
                failing_periods=monitor.ConditionFailingPeriodsArgs(
                    number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                ),
            ),
            f"input drift distance above {threshold:g} on an endpoint",
            # Drift is computed over batches of traffic, far less often than once a minute.
            window="PT1H",
        )

    def _batch_alert(self, logs: pulumi.Input[str]) -> None:
        """A failed batch run (the operator's kdap.batch.runs metric) alerts the dev team, per object."""
        self.log_alert(
            "batch-failed",
            logs,
            WARNING,
            above(batch_failed_query(), "Total", "Sum", 0, by="modeldeployment"),
            "a batch scoring run failed",
            # The metric is exported every minute; 15 minutes keep one failure alerting through a few looks.
            window="PT15M",
        )

    def _job_alert(self, logs: pulumi.Input[str]) -> None:
        """A failed Azure ML job (the workspace's AmlRunStatusChangedEvent logs) alerts the dev team."""
        self.log_alert(
            "aml-job-failed",
            logs,
            WARNING,
            above(aml_job_failed_query(), "Total", "Failed", 0, by="job"),
            "an Azure ML job failed (a batch run or a schedule's invoking step)",
            window="PT15M",
        )

    def _budget(self, budget: BudgetConfig, resource_group_id: pulumi.Input[str]) -> consumption.Budget:
        emails = budget.contact_emails
        notifications = {
            f"actual-{pct:g}": self._notification(pct, "Actual", emails) for pct in budget.actual_percent
        } | {
            f"forecast-{pct:g}": self._notification(pct, "Forecasted", emails)
            for pct in budget.forecast_percent
        }
        return consumption.Budget(
            "budget",
            budget_name=self._naming.name("budget"),
            scope=resource_group_id,
            amount=budget.amount,
            category="Cost",
            time_grain="Monthly",
            time_period=consumption.BudgetTimePeriodArgs(start_date=f"{budget.start_date}T00:00:00Z"),
            notifications=notifications,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _notification(self, percent: float, kind: str, emails: list[str]) -> consumption.NotificationArgs:
        return consumption.NotificationArgs(
            enabled=True,
            operator="GreaterThan",
            threshold=percent,
            threshold_type=kind,
            contact_emails=emails,
            contact_groups=[self.critical.id if percent >= 100 else self.warning.id],
        )

    def _group(self, severity: int) -> monitor.ActionGroup:
        return self.critical if severity <= CRITICAL else self.warning
