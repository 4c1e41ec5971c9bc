"""Queries on the platform's shared Prometheus stay inside their own namespace's series.

Without ``analysis.prometheusAddress`` a metric's PromQL runs on the Prometheus every team shares, as the
operator, and the value it returns goes into the object's status: a query naming another namespace's series
would read that team's numbers. So every series selector of such a query must carry the matcher
``namespace="<its own namespace>"`` (``$namespace`` is filled in first) — in every ``or`` branch of a
selector too. On a serverless target the gateway's series have no namespace but an adapter, which one
ModelDeployment owns: ``adapter="<its adapter>"`` binds a selector as well. A selector matching by regex or
inequality does not bind. Addresses a ModelDeploymentPolicy grants (``metrics.prometheus``) are the
namespace's own to query as it likes, and are not checked here.

The query is parsed with promql-parser (the Rust parser of GreptimeDB, which follows Prometheus's grammar),
loaded on first use so the controller does not carry it when no object queries the shared Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Stand-ins for the placeholders the analysis fills in before sending a query (analysis/service.py).
_PLACEHOLDERS = ("name", "revision", "deployment", "window")


def unbound_selectors(query: str, namespace: str, adapter: str | None = None) -> str | None:
    """None when every series selector in ``query`` is bound to ``namespace`` (or ``adapter``), else why."""
    import promql_parser

    text = query.replace("$namespace", namespace)
    if adapter is not None:
        text = text.replace("$adapter", adapter)
    for key in _PLACEHOLDERS:  # '<' is in no namespace or adapter name: a stand-in never binds a selector
        text = text.replace(f"${key}", "5m" if key == "window" else f"<{key}>")
    try:
        expr = promql_parser.parse(text)
    except Exception as e:  # the parser raises ValueError or its own error type: either is a refusal
        return f"is not PromQL the policy check can read ({str(e)[:200]})"
    binds = {("namespace", namespace)} | ({("adapter", adapter)} if adapter is not None else set())
    for selector in _selectors(expr):
        if not _bound(selector.matchers, binds):
            what = 'namespace="$namespace"' + (' or adapter="$adapter"' if adapter is not None else "")
            shown = selector.name or "{...}"
            return (
                f"selects series of {shown} without {what}: queries on the platform's shared Prometheus "
                "may read only their own namespace's series (or set analysis.prometheusAddress to an "
                "address a ModelDeploymentPolicy grants)"
            )
    return None


def _bound(matchers: Any, binds: set[tuple[str, str]]) -> bool:
    def binding(group: list[Any]) -> bool:
        return any(str(m.op).endswith(".Equal") and (m.name, m.value) in binds for m in group)

    alternatives = list(matchers.or_matchers or [])
    if alternatives:  # `{a="1" or b="2"}`: each branch selects on its own
        return all(binding(list(group)) for group in alternatives)
    return binding(list(matchers.matchers))


def _selectors(node: Any) -> Iterator[Any]:
    kind = type(node).__name__
    if kind == "VectorSelector":
        yield node
        return
    for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None:
            yield from _selectors(child)
    for child in getattr(node, "args", None) or []:
        yield from _selectors(child)
