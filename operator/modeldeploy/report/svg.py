"""Inline SVG drawn by hand: overlaid reference/live histograms and a phase timeline. No plotting library, so
the report is one self-contained file that opens anywhere (no scripts, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

import numpy as np
import numpy.typing as npt

REF_COLOUR = "#4c78a8"
LIVE_COLOUR = "#e45756"
PHASE_COLOURS = {
    "Pending": "#bab0ac",
    "Progressing": "#4c78a8",
    "Paused": "#eeca3b",
    "Promoted": "#54a24b",
    "RolledBack": "#e45756",
    "Degraded": "#f58518",
    "Failed": "#b30000",
}


@dataclass(frozen=True)
class Histogram:
    labels: list[str]  # one per bin: a category or an interval's left edge
    reference: list[float]  # shares (sum to 1 over the shown bins plus any "other")
    live: list[float]
    numeric_edges: list[float] | None = None


def numeric_histogram(
    reference: npt.NDArray[np.float64], live: npt.NDArray[np.float64], bins: int = 30
) -> Histogram:
    """Shares per bin over common edges spanning the 0.5th-99.5th percentiles of both samples together.

    Trimming the extreme tails keeps one outlier from squeezing the bulk of both distributions into a bar.
    """
    ref = reference[np.isfinite(reference)]
    liv = live[np.isfinite(live)]
    both = np.concatenate([ref, liv])
    if both.size == 0:
        return Histogram([], [], [], [])
    lo, hi = np.quantile(both, [0.005, 0.995])
    if hi <= lo:
        lo, hi = float(both.min()) - 0.5, float(both.max()) + 0.5
    edges = np.linspace(lo, hi, bins + 1)

    def shares(x: npt.NDArray[np.float64]) -> list[float]:
        counts, _ = np.histogram(np.clip(x, lo, hi), edges)
        return [float(c) for c in counts / max(x.size, 1)]

    return Histogram([f"{e:.3g}" for e in edges[:-1]], shares(ref), shares(liv), [float(e) for e in edges])


def categorical_histogram(reference: Sequence[object], live: Sequence[object], top: int = 12) -> Histogram:
    """Shares of the most common categories (by reference and live together); the rest pooled as "other"."""
    ref_vals, ref_counts = np.unique(
        np.asarray([str(v) for v in reference if v is not None]), return_counts=True
    )
    live_vals, live_counts = np.unique(
        np.asarray([str(v) for v in live if v is not None]), return_counts=True
    )
    ref_share = dict(zip(ref_vals.tolist(), (ref_counts / max(ref_counts.sum(), 1)).tolist(), strict=True))
    live_share = dict(
        zip(live_vals.tolist(), (live_counts / max(live_counts.sum(), 1)).tolist(), strict=True)
    )
    cats = sorted(
        set(ref_share) | set(live_share), key=lambda c: -(ref_share.get(c, 0) + live_share.get(c, 0))
    )
    shown, rest = cats[:top], cats[top:]
    labels = list(shown)
    r = [ref_share.get(c, 0.0) for c in shown]
    lv = [live_share.get(c, 0.0) for c in shown]
    if rest:
        labels.append("other")
        r.append(sum(ref_share.get(c, 0.0) for c in rest))
        lv.append(sum(live_share.get(c, 0.0) for c in rest))
    return Histogram(labels, r, lv)


def histogram_svg(h: Histogram, title: str, width: int = 560, height: int = 220) -> str:
    if not h.labels:
        return f'<p class="muted">{escape(title)}: no data to plot</p>'
    left, right, top, bottom = 44, 10, 24, 40
    pw, ph = width - left - right, height - top - bottom
    ymax = max(max(h.reference), max(h.live), 1e-9) * 1.1
    n = len(h.labels)
    slot = pw / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{left}" y="15" class="t">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#999"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + ph - frac * ph
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" class="a" text-anchor="end">{frac * ymax:.0%}</text>'
        )
    numeric = h.numeric_edges is not None
    bar_w = slot if numeric else slot * 0.4
    for i in range(n):
        for j, (series, colour) in enumerate(((h.reference, REF_COLOUR), (h.live, LIVE_COLOUR))):
            v = series[i]
            bh = v / ymax * ph
            x = left + i * slot + (0 if numeric else slot * 0.1 + j * bar_w)
            parts.append(
                f'<rect x="{x:.1f}" y="{top + ph - bh:.1f}" width="{bar_w:.1f}" height="{bh:.1f}" '
                f'fill="{colour}" fill-opacity="{0.55 if numeric else 0.9}"><title>'
                f"{'reference' if j == 0 else 'live'} {escape(h.labels[i])}: {v:.1%}</title></rect>"
            )
    step = max(1, n // 6)
    for i in range(0, n, step):
        x = left + i * slot + (0 if numeric else slot / 2)
        anchor = "start" if numeric else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{top + ph + 14}" class="a" text-anchor="{anchor}">'
            f"{escape(h.labels[i][:12])}</text>"
        )
    if numeric and h.numeric_edges:
        parts.append(
            f'<text x="{left + pw}" y="{top + ph + 14}" class="a" text-anchor="end">'
            f"{h.numeric_edges[-1]:.3g}</text>"
        )
    lx = left + pw - 150
    parts.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{REF_COLOUR}"/>')
    parts.append(f'<text x="{lx + 14}" y="15" class="a">reference</text>')
    parts.append(f'<rect x="{lx + 80}" y="6" width="10" height="10" fill="{LIVE_COLOUR}"/>')
    parts.append(f'<text x="{lx + 94}" y="15" class="a">live</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Mark:
    time: datetime
    phase: str
    label: str


def timeline_svg(marks: Sequence[Mark], end: datetime, width: int = 900) -> str:
    """Phase bands from each history entry to the next (the last runs to ``end``); a labelled tick each."""
    if not marks:
        return '<p class="muted">no history recorded</p>'
    marks = sorted(marks, key=lambda m: m.time)
    start = marks[0].time
    span = max((end - start).total_seconds(), 1.0)
    left, right, band_y, band_h = 10, 10, 20, 22
    pw = width - left - right
    row_h = 14
    height = band_y + band_h + 20 + row_h * len(marks)

    def x(t: datetime) -> float:
        return left + (t - start).total_seconds() / span * pw

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        'aria-label="timeline">'
    ]
    for i, m in enumerate(marks):
        x0 = x(m.time)
        x1 = x(marks[i + 1].time) if i + 1 < len(marks) else x(end)
        colour = PHASE_COLOURS.get(m.phase, "#999")
        parts.append(
            f'<rect x="{x0:.1f}" y="{band_y}" width="{max(x1 - x0, 1.5):.1f}" height="{band_h}" '
            f'fill="{colour}">'
            f"<title>{escape(m.phase)} from {m.time:%H:%M:%S}</title></rect>"
        )
    parts.append(f'<text x="{left}" y="14" class="a">{start:%Y-%m-%d %H:%M:%S} UTC</text>')
    parts.append(f'<text x="{left + pw}" y="14" class="a" text-anchor="end">+{span:.0f}s</text>')
    for i, m in enumerate(marks):
        x0 = x(m.time)
        y = band_y + band_h + 16 + i * row_h
        parts.append(
            f'<line x1="{x0:.1f}" y1="{band_y}" x2="{x0:.1f}" y2="{y - 10}" '
            'stroke="#555" stroke-width="0.6"/>'
        )
        offset = (m.time - start).total_seconds()
        anchor = "end" if x0 > left + pw * 0.6 else "start"
        text = f"+{offset:.0f}s {m.phase}: {m.label}"
        parts.append(
            f'<text x="{x0:.1f}" y="{y}" class="a" text-anchor="{anchor}">{escape(text[:110])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
