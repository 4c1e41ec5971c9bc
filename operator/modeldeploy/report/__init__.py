"""The HTML rollout report: timeline, analysis and reference-vs-live plots of drifting features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modeldeploy.report.cost import CostFindings
from modeldeploy.report.html import render_report


def write_report(
    bodies: Sequence[dict[str, Any]],
    path: Path,
    events: Mapping[str, Sequence[Any]] | None = None,
    costs: Mapping[str, CostFindings] | None = None,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(bodies, events, costs=costs), encoding="utf-8")
    return path


__all__ = ["CostFindings", "render_report", "write_report"]
