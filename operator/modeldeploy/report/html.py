"""The HTML report: per ModelDeployment, a summary, the rollout timeline, the last analysis, and
reference-vs-live distributions of each drifting feature. One file, inline CSS and SVG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

import numpy as np
import pyarrow as pa

from modeldeploy.analysis.sources import DataUnavailable
from modeldeploy.report.compare_svg import comparison_svg
from modeldeploy.report.cost import CostFindings, cost_section
from modeldeploy.report.data import Samples, load_samples
from modeldeploy.report.lifecycle import version_rows
from modeldeploy.report.svg import (
    Histogram,
    Mark,
    categorical_histogram,
    histogram_svg,
    numeric_histogram,
    timeline_svg,
)

Body = dict[str, Any]
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 8px;font-size:.9em;text-align:left}
th{background:#f4f4f4}.muted{color:#777}.bad{color:#b30000;font-weight:600}.ok{color:#2a7a2a}
.phase{display:inline-block;padding:1px 8px;border-radius:9px;color:#fff}
svg text.t{font-size:13px;font-weight:600}svg text.a{font-size:10px;fill:#444}
.plots{display:flex;flex-wrap:wrap;gap:1em}td.n,th.n{text-align:right}
"""


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def timeline_marks(status: Body, events: Sequence[Any] = ()) -> list[Mark]:
    marks = []
    for h in status.get("history") or []:
        t = _parse(h.get("time"))
        if t is not None:
            label = h.get("reason") or ""
            if h.get("message"):
                label += f" ({h['message']})"
            marks.append(Mark(t, h.get("phase") or "?", label))
    return marks


def _column_values(col: Any) -> list[object]:
    if isinstance(col, np.ndarray):
        return list(col.tolist())
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return list(col.to_pylist())
    return list(col)


def feature_histogram(samples: Samples, feature: str) -> Histogram:
    ref, live = samples.reference.get(feature), samples.live.get(feature)
    if ref is None or live is None:
        missing = "reference" if ref is None else "live"
        raise DataUnavailable(f"feature {feature!r} is not a column of the {missing} data")
    if isinstance(ref, np.ndarray) and isinstance(live, np.ndarray):
        return numeric_histogram(ref.astype(np.float64), live.astype(np.float64))
    return categorical_histogram(_column_values(ref), _column_values(live))


def drift_section(body: Body) -> str:
    analysis = (body.get("status") or {}).get("lastAnalysis") or {}
    drift = analysis.get("drift") or []
    if not drift:
        return '<p class="muted">No drift results yet.</p>'
    rows = [
        [
            escape(f["feature"]),
            escape(f.get("test", "")),
            escape(f.get("testChosen", "")),
            escape(f.get("engine", "") or "in-process"),
            _num(f.get("statistic")),
            _num(f.get("pValue")),
            _num(f.get("distance")),
            _num(f.get("threshold")),
            '<span class="bad">drift</span>'
            if f.get("verdict") == "Failed"
            else escape(f.get("verdict", "")),
            escape(f.get("message", "")),
        ]
        for f in drift
    ]
    share = analysis.get("datasetDriftShare")
    out = [
        f"<p>Dataset drift: <b>{'detected' if analysis.get('driftDetected') else 'not detected'}</b>"
        + (f", drifted share {share:.2f}" if share is not None else "")
        + "</p>",
        _table(
            [
                "feature",
                "test",
                "why this test",
                "engine",
                "statistic",
                "p-value",
                "distance",
                "threshold",
                "verdict",
                "note",
            ],
            rows,
        ),
    ]
    drifting = [f["feature"] for f in drift if f.get("verdict") == "Failed"]
    if not drifting:
        return "".join(out)
    try:
        samples = load_samples(body.get("spec") or {})
    except DataUnavailable as exc:
        out.append(f'<p class="muted">Distributions not plotted: {escape(str(exc))}</p>')
        return "".join(out)
    plots = []
    for feature in drifting:
        try:
            plots.append(histogram_svg(feature_histogram(samples, feature), f"{feature}: reference vs live"))
        except DataUnavailable as exc:
            plots.append(f'<p class="muted">{escape(str(exc))}</p>')
    out.append('<div class="plots">' + "".join(plots) + "</div>")
    return "".join(out)


def _compared(metric: Mapping[str, Any]) -> list[str]:
    """Stable, candidate and the effect with its interval, for a metric judged against stable."""
    c = metric.get("comparison")
    if not c:
        return ["-", "-", "-"]
    interval = f"{_num(c.get('effect'))} [{_num(c.get('lower'))}, {_num(c.get('upper'))}]"
    return [_num(c.get("stable")), _num(c.get("candidate")), escape(f"{interval} {c.get('decision', '')}")]


def _phase_badge(phase: str) -> str:
    from modeldeploy.report.svg import PHASE_COLOURS

    return f'<span class="phase" style="background:{PHASE_COLOURS.get(phase, "#999")}">{escape(phase)}</span>'


def _roles(status: Body) -> dict[str, str]:
    return {r["name"]: role for role in ("stable", "candidate") if (r := status.get(role)) and r.get("name")}


def deployment_section(
    body: Body, events: Sequence[Any], now: datetime, cost: CostFindings | None = None
) -> str:
    meta, spec, st = body["metadata"], body.get("spec") or {}, body.get("status") or {}
    model = spec.get("model") or {}
    stable, cand = st.get("stable") or {}, st.get("candidate") or {}
    weights = (st.get("traffic") or {}).get("weights") or {}
    parts = [
        f"<h2>{escape(meta.get('namespace', ''))}/{escape(meta['name'])} "
        f"{_phase_badge(st.get('phase') or 'Unknown')}</h2>",
        f"<p>{escape(st.get('message') or '')}</p>",
        _table(
            ["model", "strategy", "stable", "candidate", "traffic"],
            [
                [
                    escape(f"{model.get('name', '?')} {model.get('version', '?')}"),
                    escape((spec.get("strategy") or {}).get("type", "?")),
                    escape(stable.get("name", "-")),
                    escape(cand.get("name", "-")),
                    escape(", ".join(f"{k} {v}%" for k, v in weights.items()) or "-"),
                ]
            ],
        ),
        "<h3>Rollout timeline</h3>",
        timeline_svg(timeline_marks(st), now),
    ]
    versions = version_rows(st)
    if versions:  # the same rows as `kubectl mdep history`: stage (and registry ref), since, validation
        header = ["revision", "model", "stage", "since", "validation"]
        parts += ["<h3>Versions</h3>", _table(header, [[escape(c) for c in row] for row in versions])]
    analysis = st.get("lastAnalysis") or {}
    if analysis:
        parts.append(
            f"<h3>Last analysis: {escape(analysis.get('verdict', '?'))} for "
            f"{escape(analysis.get('revision', '?'))}</h3>"
            f"<p>{escape(analysis.get('message', ''))}</p>"
        )
        metrics = analysis.get("metrics") or []
        if metrics:
            parts.append(
                _table(
                    ["metric", "value", "stable", "candidate", "effect [interval]", "verdict", "message"],
                    [
                        [
                            escape(m["name"]),
                            _num(m.get("value")),
                            *_compared(m),
                            escape(m.get("verdict", "")),
                            escape(m.get("message", "")),
                        ]
                        for m in metrics
                    ],
                )
            )
            parts.append(comparison_svg(metrics))
    parts.append(cost_section(cost, _roles(st)))
    parts.append("<h3>Drift per feature</h3>")
    parts.append(drift_section(body))
    if events:
        rows = []
        for e in sorted(
            events, key=lambda e: str(getattr(e, "last_timestamp", None) or getattr(e, "event_time", ""))
        ):
            t = getattr(e, "last_timestamp", None) or getattr(e, "event_time", None)
            rows.append(
                [escape(str(t or "")), escape(e.type or ""), escape(e.reason or ""), escape(e.message or "")]
            )
        parts.append("<h3>Events</h3>" + _table(["time", "type", "reason", "message"], rows))
    return "".join(parts)


def render_report(
    bodies: Sequence[Body],
    events: Mapping[str, Sequence[Any]] | None = None,
    now: datetime | None = None,
    costs: Mapping[str, CostFindings] | None = None,
) -> str:
    """``events`` and ``costs`` by ModelDeployment name; a name with no cost findings gets no cost section."""
    now = now or datetime.now(UTC)
    events, costs = events or {}, costs or {}
    names = [b["metadata"]["name"] for b in bodies]
    sections = "".join(
        deployment_section(b, events.get(n, ()), now, costs.get(n))
        for b, n in zip(bodies, names, strict=True)
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ModelDeployment report</title>'
        f"<style>{CSS}</style></head><body><h1>ModelDeployment report</h1>"
        f'<p class="muted">Generated {now:%Y-%m-%d %H:%M:%S} UTC by kubectl mdep report.</p>'
        f"{sections}</body></html>"
    )
