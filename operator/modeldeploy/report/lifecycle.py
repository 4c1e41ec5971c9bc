"""The model versions a ModelDeployment knows, with their stage and pre-traffic validation, for people.

Stages come from ``status.stages`` (what the registry was last told, with model.tagStages) and otherwise
from the rollout itself: the stable revision serves production, the candidate is under test (staging), a
failed revision is shown with why it failed.
"""

from __future__ import annotations

from typing import Any

Body = dict[str, Any]


def _validation(record: Body) -> str:
    v = record.get("validation")
    if not v:
        return "-"
    text = f"{v.get('verdict', '?')}: {v.get('message') or ''}".rstrip(": ")
    attempts = v.get("attempts") or 0
    return f"{text} (attempt {attempts})" if attempts > 1 else text


def _registry(stages: Body, role: str, revision: str) -> str:
    staged = stages.get(role) or {}
    return f" [registry {staged['ref']}]" if staged.get("revision") == revision and staged.get("ref") else ""


def version_rows(status: Body) -> list[list[str]]:
    """One row per revision: REVISION, MODEL, STAGE, SINCE, VALIDATION."""
    stages: Body = status.get("stages") or {}
    rows: list[list[str]] = []
    stable, candidate = status.get("stable"), status.get("candidate")
    if stable:
        since = stable.get("promotedAt") or stable.get("readyAt") or "-"
        stage = "production" + _registry(stages, "production", stable["name"])
        rows.append([stable["name"], stable.get("modelVersion") or "-", stage, since, _validation(stable)])
    if candidate:
        stage = "staging" + _registry(stages, "staging", candidate["name"])
        since = candidate.get("createdAt") or "-"
        rows.append(
            [candidate["name"], candidate.get("modelVersion") or "-", stage, since, _validation(candidate)]
        )
    for f in reversed(status.get("failedRevisions") or []):
        verdict = f"Failed: {f.get('message', '')}" if f.get("reason") == "ValidationFailed" else "-"
        stage = f"failed ({f.get('reason') or 'unknown'})"
        rows.append([f["name"], f.get("modelVersion") or "-", stage, f.get("failedAt") or "-", verdict])
    return rows
