"""`kubectl mdep status` after a rollout ended: the steps say how it ended, not that nothing happened.

Once a rollout ends the operator drops the candidate and ``currentStepIndex``, so the steps must be read from
the phase (Promoted: all walked), the failed revision and its last analysis or step event (where it stopped).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from modeldeploy.cli import render
from tests.cli.bodies import canary_at_step_two

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def _ended(phase: str, **status: Any) -> dict[str, Any]:
    """The step-two canary after its rollout ended: no candidate, no current step, no traffic to it."""
    body = copy.deepcopy(canary_at_step_two())
    st = body["status"]
    for key in ("candidate", "currentStepIndex", "stepStartedAt", "request"):
        st.pop(key)
    st["phase"] = phase
    st["traffic"] = {"weights": {st["stable"]["name"]: 100}}
    st.update(status)
    return body


def _steps(body: dict[str, Any]) -> list[str]:
    lines = render.status_view(body, NOW).splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Steps ("))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ["))
    return lines[start:end]


def test_promoted_rollout_shows_every_step_done() -> None:
    promoted = {"name": "scorer-bbbb", "specHash": "b", "modelVersion": "1.1.0"}
    body = _ended("Promoted", stable=promoted, traffic={"weights": {"scorer-bbbb": 100}})
    assert _steps(body) == [
        "Steps (canary): all done, revision scorer-bbbb promoted",
        "  [x] 1. weight 10%",
        "  [x] 2. weight 25%, pause 1m, analysis",
        "  [x] 3. weight 50%, manual gate",
        "  [x] 4. weight 100%",
    ]


def test_rolled_back_rollout_shows_the_step_its_failed_analysis_stopped_at() -> None:
    failed = [
        {"specHash": "old", "name": "scorer-0000", "reason": "AnalysisFailed", "message": "long ago"},
        {
            "specHash": "b",
            "name": "scorer-bbbb",
            "reason": "DriftDetected",
            "message": "age, channel drifted",
        },
    ]
    body = _ended("RolledBack", failedRevisions=failed)  # lastAnalysis: scorer-bbbb failed at step 2
    assert _steps(body) == [
        "Steps (canary): revision scorer-bbbb stopped at step 2/4",
        "  [x] 1. weight 10%",
        "  [!] 2. weight 25%, pause 1m, analysis   <- stopped here: DriftDetected: age, channel drifted",
        "  [ ] 3. weight 50%, manual gate",
        "  [ ] 4. weight 100%",
    ]


def test_aborted_rollout_without_analysis_stops_at_its_last_step_event() -> None:
    body = _ended(
        "Degraded",
        failedRevisions=[{"specHash": "b", "name": "scorer-bbbb", "reason": "Aborted"}],
        lastAnalysis={"revision": "scorer-aaaa", "verdict": "Successful"},  # steady-state check of stable
    )
    body["status"]["history"].append(
        {
            "phase": "Paused",
            "reason": "StepStarted",
            "revision": "scorer-bbbb",
            "message": "step 3/4: revision scorer-bbbb takes 50% live until promoted",
        }
    )
    lines = _steps(body)
    assert lines[0] == "Steps (canary): revision scorer-bbbb stopped at step 3/4"
    assert lines[1:3] == ["  [x] 1. weight 10%", "  [x] 2. weight 25%, pause 1m, analysis"]
    assert lines[3] == "  [!] 3. weight 50%, manual gate   <- stopped here: Aborted"
    assert lines[4] == "  [ ] 4. weight 100%"


def test_revision_that_never_became_ready_stopped_before_the_first_step() -> None:
    failed = [{"specHash": "b", "name": "scorer-bbbb", "reason": "RevisionFailed", "message": "ImagePull"}]
    body = _ended("RolledBack", failedRevisions=failed, lastAnalysis=None)
    assert _steps(body) == [
        "Steps (canary): revision scorer-bbbb stopped before step 1 (RevisionFailed: ImagePull)",
        "  [ ] 1. weight 10%",
        "  [ ] 2. weight 25%, pause 1m, analysis",
        "  [ ] 3. weight 50%, manual gate",
        "  [ ] 4. weight 100%",
    ]


def test_rollout_in_progress_is_unchanged() -> None:
    assert _steps(canary_at_step_two())[:3] == [
        "Steps (canary):",
        "  [x] 1. weight 10%",
        "  [>] 2. weight 25%, pause 1m, analysis   (since 30s)",
    ]
