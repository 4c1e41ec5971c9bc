"""The report's cost findings, gathered as `kubectl mdep cost` gathers them: the same ``cost_of`` query and
the same ``advise`` recommendations, so the report and the command can never show different figures.

Where the command fails (the target is not on Azure, Cost Management refused the query), the report still
renders and says why in one line: cost is one section of it, not its purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modeldeploy.cli import cost, recommend
from modeldeploy.cli.errors import CliError
from modeldeploy.report.cost import CostFindings


def findings(
    body: dict[str, Any],
    now: datetime,
    client_factory: cost.ClientFactory | None = None,
    metrics_factory: recommend.MetricsFactory | None = None,
) -> CostFindings:
    try:
        report = cost.cost_of(body, client_factory or cost.default_client, now)
    except CliError as err:
        # The command's message names the command ("cost NAME: ..."); the report's section already does.
        return CostFindings(note=str(err).removeprefix(f"cost {body['metadata']['name']}: "))
    recs, note = recommend.advise(body, report, now, metrics_factory)
    return CostFindings(report, recs, note)
