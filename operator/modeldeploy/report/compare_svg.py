"""Candidate against stable, drawn: per compared metric, the effect (candidate minus stable) with its
always-valid interval, zero, and the margin the hypothesis is judged against. One shared axis, so metrics on
the same scale read side by side; inline SVG like the rest of the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

WIDTH, ROW, LEFT, RIGHT, TOP = 640, 26, 150, 20, 22
DECISION_COLOURS = {
    "Pass": "#54a24b",
    "Fail": "#e45756",
    "Continue": "#eeca3b",
    "InsufficientData": "#bab0ac",
}


def _compared(metrics: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (str(m["name"]), c)
        for m in metrics
        if (c := m.get("comparison")) and c.get("lower") is not None and c.get("upper") is not None
    ]


def comparison_svg(metrics: Sequence[Mapping[str, Any]]) -> str:
    """The forest plot of the compared metrics, or '' when none has an interval yet."""
    rows = _compared(metrics)
    if not rows:
        return ""
    edges = [0.0]
    for _, c in rows:
        edges += [float(c["lower"]), float(c["upper"])]
        margin = float(c.get("margin") or 0.0)
        edges += [margin, -margin]
    lo, hi = min(edges), max(edges)
    pad = (hi - lo) * 0.08 or 1e-6
    lo, hi = lo - pad, hi + pad
    height = TOP + ROW * len(rows) + 24

    def x(v: float) -> float:
        return LEFT + (v - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
        'aria-label="candidate against stable">',
        '<text class="t" x="4" y="14">candidate minus stable, with its interval (dashed: the margin)</text>',
        f'<line x1="{x(0):.1f}" y1="{TOP - 4}" x2="{x(0):.1f}" y2="{height - 20}" stroke="#888"/>',
    ]
    for i, (name, c) in enumerate(rows):
        y = TOP + ROW * i + ROW / 2
        colour = DECISION_COLOURS.get(str(c.get("decision")), "#999")
        lower, upper = float(c["lower"]), float(c["upper"])
        margin = float(c.get("margin") or 0.0)
        effect = c.get("effect")
        parts.append(f'<text class="a" x="4" y="{y + 3:.1f}">{escape(name)}</text>')
        if margin:
            for m in (margin, -margin):
                parts.append(
                    f'<line x1="{x(m):.1f}" y1="{y - 9:.1f}" x2="{x(m):.1f}" y2="{y + 9:.1f}" '
                    'stroke="#888" stroke-dasharray="3,2"/>'
                )
        tip = (
            f"{name}: effect {effect if effect is not None else '?'} in [{lower:.4g}, {upper:.4g}], "
            f"stable {c.get('stable')}, candidate {c.get('candidate')}, {c.get('decision')}"
        )
        parts.append(
            f'<line x1="{x(lower):.1f}" y1="{y:.1f}" x2="{x(upper):.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="3"><title>{escape(tip)}</title></line>'
        )
        if effect is not None:
            parts.append(f'<circle cx="{x(float(effect)):.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
    axis_y = height - 8
    for v in (lo + pad, 0.0, hi - pad):
        parts.append(f'<text class="a" x="{x(v):.1f}" y="{axis_y}" text-anchor="middle">{v:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)
