"""The report's cost section: month-to-date cost per revision, the month's forecast and the recommendations,
exactly as `kubectl mdep cost` computed them.

The report renders; it does not query. The CLI gathers the figures with the same functions as its `cost`
command (modeldeploy.cli.report_cost) and hands them over as :class:`CostFindings`. The protocols below name
what is read from the CLI's ``CostReport`` and ``Recommendation``: the report sits below the CLI and may not
import it. Every value is escaped: revision names come from the spec, currency and messages from Azure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Protocol


class RevisionCosts(Protocol):
    @property
    def scope(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def by_revision(self) -> Mapping[str, float]: ...
    @property
    def forecast(self) -> float | None: ...
    @property
    def month_to_date(self) -> float: ...


class Advice(Protocol):
    @property
    def revision(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class CostFindings:
    """What the cost section shows for one ModelDeployment: figures, or why there are none."""

    costs: RevisionCosts | None = None
    recommendations: Sequence[Advice] = ()
    # With costs: the `cost` command's line when there is no advice (none warranted, or Azure Monitor
    # unreadable). Without: why there are no figures (not on Azure, Cost Management refused the query).
    note: str = ""


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "unavailable"
    return escape(f"{value:.2f} {currency}".strip())


def _role(revision: str, roles: Mapping[str, str]) -> str:
    return escape(roles.get(revision, "-"))


def cost_section(findings: CostFindings | None, roles: Mapping[str, str] | None = None) -> str:
    """``roles``: revision name -> stable/candidate, from status. '' when cost was not gathered at all."""
    if findings is None:
        return ""
    if findings.costs is None:
        return f'<p class="muted">No cost figures: {escape(findings.note)}</p>'
    costs, roles = findings.costs, roles or {}
    rows = "".join(
        f'<tr><td>{escape(rev)}</td><td>{_role(rev, roles)}</td><td class="n">'
        f"{_money(value, costs.currency)}</td></tr>"
        for rev, value in sorted(costs.by_revision.items(), key=lambda item: -item[1])
    )
    total = (
        f'<tr><th>total</th><th></th><th class="n">{_money(costs.month_to_date, costs.currency)}</th></tr>'
    )
    parts = [
        "<h3>Cost this month</h3>",
        f'<p class="muted">From Cost Management: resources tagged for this deployment in '
        f"{escape(costs.scope)}.</p>",
        "<table><tr><th>revision</th><th>role</th><th>month-to-date</th></tr>" + rows + total + "</table>",
        # Cost Management forecasts cannot be grouped by tag, so there is one forecast for the deployment.
        f"<p>Forecast for the month (whole deployment): <b>{_money(costs.forecast, costs.currency)}</b></p>",
    ]
    if findings.recommendations:
        items = "".join(
            f"<li><b>{escape(r.kind)}</b> {escape(r.message)}</li>" for r in findings.recommendations
        )
        parts.append(f"<h4>Recommendations</h4><ul>{items}</ul>")
    else:
        parts.append(f'<p class="muted">{escape(findings.note)}</p>')
    return "".join(parts)
