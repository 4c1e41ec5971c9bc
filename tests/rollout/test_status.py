"""The status model: camelCase on the wire, partial bodies accepted, merge patches that clear what left."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from modeldeploy.api.status import ManualAction, ModelDeploymentStatus, Phase, Traffic, Verdict

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_an_empty_status_is_valid() -> None:
    s = ModelDeploymentStatus.model_validate({})
    assert s.phase is None
    assert s.traffic.weights == {}
    assert s.to_body() == {
        "message": "",
        "conditions": [],
        "traffic": {"weights": {}, "mirrorPercent": 0, "candidateWeight": 0},
        "counters": {
            "consecutiveFailures": 0,
            "consecutiveInconclusives": 0,
            "consecutiveErrors": 0,
            "consecutiveSuccesses": 0,
            "consecutiveDrifts": 0,
            "metrics": [],
        },
        "failedRevisions": [],
        "retiredRevisions": [],
        "lastHandledRequestResult": "",
        "history": [],
    }


def test_the_wire_form_is_camel_case_with_rfc3339_times_and_round_trips() -> None:
    body = {
        "phase": "RolledBack",
        "observedGeneration": 3,
        "stable": {"name": "fraud-0123456789", "specHash": "0123", "createdAt": "2025-01-01T00:00:00Z"},
        "traffic": {"weights": {"fraud-0123456789": 100}},
        "currentStepIndex": 1,
        "request": {"action": "promote-full", "id": "r1", "requestedAt": "2025-01-01T00:00:00Z"},
        "lastAnalysis": {
            "revision": "fraud-abcdefabcd",
            "verdict": "InsufficientData",
            "drift": [
                {"feature": "amount", "test": "ks", "pValue": 0.01, "threshold": 0.05, "verdict": "Failed"}
            ],
            "datasetDriftShare": 0.5,
        },
        "failedRevisions": [{"specHash": "abcd", "name": "fraud-abcdefabcd", "reason": "AnalysisFailed"}],
    }
    s = ModelDeploymentStatus.model_validate(body)
    assert s.phase is Phase.ROLLED_BACK
    assert s.request is not None
    assert s.request.action is ManualAction.PROMOTE_FULL
    assert s.last_analysis is not None
    assert s.last_analysis.verdict is Verdict.INSUFFICIENT_DATA
    assert s.last_analysis.drift[0].p_value == 0.01
    assert s.is_failed("abcd")
    assert not s.is_failed("0123")
    out = s.to_body()
    assert out["stable"] == {
        "name": "fraud-0123456789",
        "specHash": "0123",
        "modelVersion": "",
        "createdAt": "2025-01-01T00:00:00Z",
    }
    assert ModelDeploymentStatus.model_validate(out) == s


def test_an_unknown_phase_or_action_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(ValidationError, match="Input should be 'Pending', 'Progressing'"):
        ModelDeploymentStatus.model_validate({"phase": "Healthy"})
    with pytest.raises(ValidationError, match="Input should be 'promote', 'promote-full'"):
        ModelDeploymentStatus.model_validate({"request": {"action": "undo", "id": "1"}})


def test_merge_patch_clears_unset_fields_and_departed_weights() -> None:
    before = ModelDeploymentStatus(traffic=Traffic(weights={"a": 90, "b": 10}), current_step_index=0)
    after = ModelDeploymentStatus(traffic=Traffic(weights={"a": 100}))
    patch = after.to_merge_patch(before)
    assert patch["currentStepIndex"] is None
    assert patch["traffic"] == {
        "weights": {"a": 100, "b": None},
        "mirror": None,
        "mirrorPercent": 0,
        "candidateWeight": 0,
    }


def test_the_status_is_immutable() -> None:
    s = ModelDeploymentStatus()
    with pytest.raises(ValidationError, match="Instance is frozen"):
        s.phase = Phase.PROMOTED  # type: ignore[misc]
