"""The `alerts` and `budget` sections of the stack config, read by `monitoring.Alerting`."""

from __future__ import annotations

from pydantic import Field, model_validator

from kdap_infra.config_sections import NAMESPACE, Email, Section


class AlertsConfig(Section):
    on_call_emails: list[Email] = Field(min_length=1, description="the on-call addresses for critical alerts")
    dev_team_emails: list[Email] = Field(min_length=1, description="the dev team's addresses for warnings")
    latency_p99_ms: float = Field(500.0, gt=0, description="the p99 request latency threshold in ms")
    server_errors_per_minute: float = Field(
        5.0, gt=0, description="the 5xx requests per minute that raise an alert"
    )
    cpu_percent: float = Field(80.0, gt=0, le=100, description="the deployment CPU percentage, 1-100")
    drift_threshold: float = Field(
        0.2, gt=0, lt=1, description="the drift distance (0-1) above which the drift alert fires"
    )


class BudgetConfig(Section):
    amount: float = Field(gt=0, description="the monthly budget in the billing currency")
    per_endpoint_amount: float | None = Field(
        None, gt=0, description="each endpoint's monthly budget (default: an equal share of amount)"
    )
    contact_emails: list[Email] = Field(min_length=1, description="who is told about spend")
    actual_percent: list[float] = Field(
        [80.0, 100.0], min_length=1, description="percentages of actual spend"
    )
    forecast_percent: list[float] = Field([100.0], min_length=1, description="percentages of forecast spend")

    @model_validator(mode="after")
    def _at_most_five(self) -> BudgetConfig:
        count = len(self.actual_percent) + len(self.forecast_percent)
        if count > 5:
            raise ValueError(
                f"{NAMESPACE}:budget has {count} thresholds and Azure allows 5. "
                "Fix: shorten budget.actualPercent or budget.forecastPercent"
            )
        if any(not 0 < p <= 1000 for p in [*self.actual_percent, *self.forecast_percent]):
            raise ValueError(
                f"{NAMESPACE}:budget.actualPercent/forecastPercent hold a value outside 0-1000. "
                "Fix: give percentages of the budget amount, such as 80 or 100"
            )
        return self

    start_date: str = Field(
        "2026-01-01",
        pattern=r"^\d{4}-\d{2}-01$",
        description="the first day of a month, YYYY-MM-01",
    )
