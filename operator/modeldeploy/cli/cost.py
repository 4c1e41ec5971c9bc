"""`kubectl mdep cost NAME`: month-to-date cost per revision and the month's forecast, from Cost Management's
query and forecast APIs, over the resources tagged with the platform contract's `modeldeployment` tag.

Everything the operator and infra create for a ModelDeployment carries that tag (`api.platform.cost_tags`),
and the operator's deployments also carry `kdap-revision`, so one query grouped by that tag splits the cost
by revision. Cost Management has no grouping for forecasts, so the forecast is for the whole deployment.
The SDK is imported on use: the rest of the CLI needs no Azure package.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modeldeploy.api import platform
from modeldeploy.api.azure_names import TAG_REVISION
from modeldeploy.cli.errors import CliError

Body = dict[str, Any]
UNTAGGED = "(no revision)"  # the endpoint itself and anything else not bound to one revision


@dataclass(frozen=True)
class CostReport:
    scope: str
    deployment: str  # namespace/name
    currency: str
    by_revision: dict[str, float] = field(default_factory=dict)
    forecast: float | None = None  # the whole month, actual cost so far included

    @property
    def month_to_date(self) -> float:
        return round(sum(self.by_revision.values()), 2)


def scope_of(body: Body) -> str:
    """The resource group a ModelDeployment on Azure ML runs in: the narrowest scope Cost Management takes."""
    azureml = ((body.get("spec") or {}).get("target") or {}).get("azureml")
    if not azureml:
        name = body["metadata"]["name"]
        raise CliError(
            f"cost {name}: it does not run on Azure ML (target.type is not azureml), so it has no Azure cost"
        )
    # Fields the spec leaves to the platform are where the operator pinned them (status.platformDefaults).
    where = {**((body.get("status") or {}).get("platformDefaults") or {}), **azureml}
    if "subscriptionId" not in where or "resourceGroup" not in where:
        name = body["metadata"]["name"]
        raise CliError(
            f"cost {name}: its subscription and resource group come from the platform and the operator has "
            "not recorded them yet (status.platformDefaults); try again once it has reconciled"
        )
    return f"/subscriptions/{where['subscriptionId']}/resourceGroups/{where['resourceGroup']}"


def _columns(result: Any) -> tuple[list[str], list[list[Any]]]:
    columns = [str(c.name) for c in (result.columns or [])] if result is not None else []
    return columns, list(result.rows or []) if result is not None else []


# A query answers at most a page of rows and links the next; a runaway chain of links is refused.
MAX_PAGES = 50


def _pages(client: Any, scope: str, result: Any, definition: Any, parse: Callable[[Any], Any]) -> list[Any]:
    """The first result and every page its ``next_link`` chain leads to (the same body POSTed to each)."""
    from azure.core.rest import HttpRequest

    pages = [result]
    while (link := getattr(pages[-1], "next_link", None)) and len(pages) < MAX_PAGES:
        response = client.send_request(HttpRequest("POST", link, json=definition.as_dict()))
        response.raise_for_status()
        pages.append(parse(response.json()))
    if getattr(pages[-1], "next_link", None):
        raise _unusable(scope, f"with more than {MAX_PAGES} pages")
    return pages


def _unusable(scope: str, problem: str) -> CliError:
    return CliError(f"Cost Management answered the query on {scope} {problem}")


def query_cost(client: Any, scope: str, deployment: str, now: datetime) -> CostReport:
    """Month-to-date actual cost grouped by revision, and the forecast to the end of the month."""
    from azure.mgmt.costmanagement import models as m

    query = m.QueryDefinition(
        type="ActualCost",
        timeframe="MonthToDate",
        dataset=m.QueryDataset(
            granularity=None,
            aggregation={"totalCost": m.QueryAggregation(name="Cost", function="Sum")},
            grouping=[m.QueryGrouping(type="TagKey", name=TAG_REVISION)],
            filter=m.QueryFilter(
                tags=m.QueryComparisonExpression(
                    name=platform.COST_TAG_DEPLOYMENT, operator="In", values_property=[deployment]
                )
            ),
        ),
    )
    by_revision: dict[str, float] = {}
    currencies: set[str] = set()
    for page in _pages(client, scope, client.query.usage(scope, query), query, m.QueryResult):
        columns, rows = _columns(page)
        cost_i, currency_i = _index(columns, "Cost", "PreTaxCost"), _index(columns, "Currency")
        value_i = _index(columns, "TagValue")
        if cost_i is None and rows:  # never read another column as the cost
            raise _unusable(scope, f"without a cost column (columns: {', '.join(columns)})")
        for row in rows:
            revision = str(row[value_i]) if value_i is not None and row[value_i] else UNTAGGED
            by_revision[revision] = round(by_revision.get(revision, 0.0) + float(row[cost_i or 0]), 2)
            if currency_i is not None and row[currency_i]:
                currencies.add(str(row[currency_i]))
    if len(currencies) > 1:
        raise _unusable(
            scope,
            f"in more than one currency ({', '.join(sorted(currencies))}); its figures cannot be added up",
        )
    forecast, forecast_currency = _forecast(client, scope, deployment, now)
    # Nothing charged yet (a new month, a new model): the forecast still names the billing currency.
    currency = next(iter(currencies), forecast_currency)
    return CostReport(scope, deployment, currency, by_revision, forecast)


def _forecast(client: Any, scope: str, deployment: str, now: datetime) -> tuple[float | None, str]:
    from azure.mgmt.costmanagement import models as m

    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = calendar.monthrange(now.year, now.month)[1]
    end = now.replace(day=last, hour=23, minute=59, second=59, microsecond=0)
    definition = m.ForecastDefinition(
        type="ActualCost",
        timeframe="Custom",
        time_period=m.ForecastTimePeriod(from_property=start, to=end),
        include_actual_cost=True,  # the month so far plus the rest: comparable with a monthly budget
        include_fresh_partial_cost=False,
        dataset=m.ForecastDataset(
            granularity="Daily",
            aggregation={"totalCost": m.ForecastAggregation(name="Cost", function="Sum")},
            filter=m.ForecastFilter(
                tags=m.ForecastComparisonExpression(
                    name=platform.COST_TAG_DEPLOYMENT, operator="In", values_property=[deployment]
                )
            ),
        ),
    )
    columns, rows = _columns(client.forecast.usage(scope, definition))
    cost_i = _index(columns, "Cost", "CostUSD", "PreTaxCost")
    currency_i = _index(columns, "Currency")
    currency = next((str(r[currency_i]) for r in rows if currency_i is not None and r[currency_i]), "")
    if cost_i is None or not rows:
        return None, currency
    return round(sum(float(row[cost_i]) for row in rows), 2), currency


def _index(columns: list[str], *names: str) -> int | None:
    lowered = [c.lower() for c in columns]
    return next((lowered.index(n.lower()) for n in names if n.lower() in lowered), None)


def render_cost(report: CostReport) -> str:
    cur = f" {report.currency}" if report.currency else ""
    lines = [f"{report.deployment} in {report.scope}", f"{'REVISION':<40} {'MONTH-TO-DATE':>14}"]
    for revision, cost in sorted(report.by_revision.items(), key=lambda item: -item[1]):
        lines.append(f"{revision:<40} {cost:>14.2f}{cur}")
    lines.append(f"{'total':<40} {report.month_to_date:>14.2f}{cur}")
    forecast = "unavailable" if report.forecast is None else f"{report.forecast:.2f}{cur}"
    lines.append(f"forecast for the month: {forecast}")
    return "\n".join(lines)


def default_client(subscription_id: str) -> Any:
    """The Cost Management client as the user (az login, environment, managed identity)."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.costmanagement import CostManagementClient

    del subscription_id  # the scope carries it; kept so a test or another cloud can choose per subscription
    return CostManagementClient(DefaultAzureCredential())


ClientFactory = Callable[[str], Any]


def cost_of(
    body: Body, client_factory: ClientFactory = default_client, now: datetime | None = None
) -> CostReport:
    scope = scope_of(body)
    meta = body["metadata"]
    deployment = f"{meta['namespace']}/{meta['name']}"
    client = client_factory(scope.split("/")[2])
    try:
        return query_cost(client, scope, deployment, now or datetime.now(UTC))
    except CliError as err:  # the answer was unusable: say so under the command's name
        raise CliError(f"cost {meta['name']}: {err}") from None
    except Exception as exc:  # the SDK's HttpResponseError, auth errors: one line, naming the scope
        raise CliError(f"cost {meta['name']}: Cost Management refused the query on {scope}: {exc}") from exc
