"""The ``logAnalytics`` metric provider: KQL over the platform's Log Analytics workspace, named by its ARM id.

A serverless endpoint has no online-endpoint metrics; what is known per adapter version is what the LLM API
in front of it logs. Its policy emits token counts per request into the workspace (``AppMetrics``, with the
adapter and the revision the split picked as dimensions: ``api.platform.LLM_*``), so a few named queries
read them for the revision under analysis:

- ``tokensPerRequest``, ``promptTokensPerRequest``, ``completionTokensPerRequest``: mean tokens per request;
- ``requestRate``: requests per minute that reached the model.

Any other query is the author's KQL (``$revision`` and ``$adapter`` already substituted), answering one
number in its first cell. The workspace is queried by resource id (``LogsQueryClient.query_resource``), so
the operator needs read access to it and no workspace GUID.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from modeldeploy.api import platform

from .azure_monitor import first_number, one_row
from .providers import RetryPolicy, with_retries
from .types import MetricValue

PER_REQUEST = {
    "tokensPerRequest": platform.LLM_TOTAL_TOKENS,
    "promptTokensPerRequest": platform.LLM_PROMPT_TOKENS,
    "completionTokensPerRequest": platform.LLM_COMPLETION_TOKENS,
}
NAMED = (*PER_REQUEST, "requestRate")
# What goes into a KQL string literal: adapter ids and revision names are DNS labels, nothing else is let in.
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class LogsByResource(Protocol):
    def query_resource(
        self, resource_id: str, query: str, *, timespan: tuple[datetime, datetime], server_timeout: int
    ) -> Any: ...


def _series(metric: str, adapter: str, revision: str) -> str:
    return (
        "AppMetrics\n"
        f'| where Name == "{metric}"\n'
        f'| where tostring(Properties["adapter"]) == "{adapter}"\n'
        f'| where tostring(Properties["revision"]) == "{revision}"\n'
        "| summarize n = sum(ItemCount), total = sum(Sum)\n"
    )


def named_query(query: str, adapter: str, revision: str, minutes: float) -> str:
    """The KQL of a named query for one adapter's revision; null (no data) when no request was counted."""
    if query == "requestRate":
        body = _series(platform.LLM_TOTAL_TOKENS, adapter, revision)
        return f"{body}| project value = iff(n > 0, todouble(n) / {minutes:.6g}, real(null))"
    body = _series(PER_REQUEST[query], adapter, revision)
    return f"{body}| project value = iff(n > 0, todouble(total) / n, real(null))"


class WorkspaceLogsProvider:
    """``params``: ``logAnalyticsWorkspace`` (its ARM id); named queries also ``adapter`` and ``revision``."""

    def __init__(self, client: LogsByResource, policy: RetryPolicy | None = None) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        workspace = params.get("logAnalyticsWorkspace")
        if not workspace:
            return MetricValue(
                None,
                "log analytics: the target names no logAnalyticsWorkspaceId (the platform's handoff provides "
                "it; or set it in the target)",
            )
        if query in NAMED:
            adapter, revision = params.get("adapter", ""), params.get("revision", "")
            if not (_LABEL.match(adapter) and _LABEL.match(revision)):
                why = f"log analytics {query!r} reads one adapter's revision: it needs a serverless target"
                return MetricValue(None, why)
            minutes = max((end - start).total_seconds() / 60.0, 1e-9)
            kql = named_query(query, adapter, revision, minutes)
        else:
            kql = one_row(query)
        what = f"log analytics {query}" if query in NAMED else "log analytics"
        return with_retries(what, self.policy, lambda: self._once(workspace, kql, start, end))

    def _once(self, workspace: str, kql: str, start: datetime, end: datetime) -> MetricValue:
        return first_number(
            lambda: self.client.query_resource(
                workspace, kql, timespan=(start, end), server_timeout=int(self.policy.timeout_seconds)
            )
        )
