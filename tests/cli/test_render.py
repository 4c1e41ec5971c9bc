"""The text views, offline: what a user reads in `kubectl mdep status|list|history`."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from modeldeploy.cli import render
from modeldeploy.cli.checks import check_action
from modeldeploy.cli.errors import CliError
from tests.cli.bodies import canary_at_step_two

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_status_view_marks_done_current_and_pending_steps_and_draws_weights() -> None:
    out = render.status_view(canary_at_step_two(), NOW)
    lines = out.splitlines()
    assert "  [x] 1. weight 10%" in lines
    assert "  [>] 2. weight 25%, pause 1m, analysis   (since 30s)" in lines
    assert "  [ ] 3. weight 50%, manual gate" in lines
    assert "  [ ] 4. weight 100%" in lines
    stable_line = next(ln for ln in lines if ln.startswith("  scorer-aaaa"))
    assert stable_line.endswith("[" + "#" * 15 + "." * 5 + "]  75%")
    assert any(ln.startswith("  scorer-bbbb (mirror)") and ln.endswith(" 10%") for ln in lines)
    assert "Stable:     scorer-aaaa (model 1.0.0, ready 59m ago)" in lines
    assert "Request:    pause 0b7c9a52: pause accepted" in lines


def test_status_view_shows_drift_per_feature_with_verdicts() -> None:
    out = render.status_view(canary_at_step_two(), NOW)
    assert "Analysis:   Failed for scorer-bbbb at step 2 (10s ago): drift: 2 of 2 features drifted" in out
    assert "Drift:      DRIFT DETECTED, drifted share 0.67" in out
    rows = {
        ln.split()[0]: ln.split() for ln in out.splitlines() if ln.startswith("  ") and len(ln.split()) == 7
    }
    assert rows["age"] == ["age", "ks", "0.31", "1.20e-12", "-", "0.05", "DRIFT"]
    assert rows["income"][-1] == "Successful"
    assert rows["channel"][-1] == "DRIFT"
    assert "  engine: spark: the live window is 3.2 GiB, over the 1.0 GiB pod limit" in out.splitlines()


def test_list_view_columns_and_empty() -> None:
    body = canary_at_step_two()
    out = render.list_view([body], NOW, all_namespaces=True)
    header, row = out.splitlines()
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        "PHASE",
        "STRATEGY",
        "STEP",
        "TRAFFIC",
        "MIRROR",
        "ANALYSIS",
        "MODEL",
        "AGE",
    ]
    assert row.split() == [
        "team-a", "scorer", "Progressing", "canary", "2/4", "scorer-aaaa=75", "scorer-bbbb=25",
        "scorer-bbbb@10%", "Failed", "scorer:1.1.0", "60m",
    ]  # fmt: skip
    assert render.list_view([], NOW, all_namespaces=False) == "No ModelDeployments found."


def test_history_view_lists_the_versions_then_each_transition() -> None:
    out = render.history_view(canary_at_step_two(), NOW).splitlines()
    assert out[0].split() == ["REVISION", "MODEL", "STAGE", "SINCE", "VALIDATION"]
    assert out[1].split() == ["scorer-aaaa", "1.0.0", "production", "2025-03-01T11:00:30Z", "-"]
    assert out[2].split() == ["scorer-bbbb", "1.1.0", "staging", "-", "-"]
    assert out[3] == ""
    assert out[4].split() == ["TIME", "AGE", "PHASE", "REVISION", "REASON", "MESSAGE"]
    assert out[7].split()[:5] == ["2025-03-01T11:58:00Z", "2m", "Progressing", "scorer-bbbb", "CanaryStarted"]
    assert len(out) == 8


def test_history_view_shows_registry_stages_and_validation_results() -> None:
    body = canary_at_step_two()
    status = body["status"]
    status["stable"] |= {
        "promotedAt": "2025-03-01T11:01:00Z",
        "validation": {"verdict": "Successful", "message": "2 checks passed", "attempts": 2},
    }
    status["candidate"] = None
    status["stages"] = {"production": {"ref": "azureml:scorer:7", "revision": "scorer-aaaa"}}
    status["failedRevisions"] = [
        {"specHash": "b", "name": "scorer-bbbb", "reason": "ValidationFailed", "modelVersion": "1.1.0",
         "failedAt": "2025-03-01T11:59:00Z", "message": "validation failed: smoke: $.p is missing"},
    ]  # fmt: skip
    out = render.history_view(body, NOW).splitlines()
    assert out[1].split() == [
        "scorer-aaaa", "1.0.0", "production", "[registry", "azureml:scorer:7]", "2025-03-01T11:01:00Z",
        "Successful:", "2", "checks", "passed", "(attempt", "2)",
    ]  # fmt: skip
    assert out[2].split()[:4] == ["scorer-bbbb", "1.1.0", "failed", "(ValidationFailed)"]
    assert out[2].endswith("Failed: validation failed: smoke: $.p is missing")


def test_shadow_and_blue_green_steps() -> None:
    shadow = {"strategy": {"type": "shadow", "shadow": {"mirrorPercent": 100, "duration": "24h"}}}
    assert render.strategy_steps(shadow) == ["mirror 100% for 24h, compare", "promote (manual)"]
    bg = {"strategy": {"type": "blueGreen", "blueGreen": {"previewDuration": "10m", "promotion": "auto"}}}
    assert render.strategy_steps(bg) == ["preview 10m, analysis", "switch (auto)"]


def _with(status: dict[str, object]) -> dict[str, object]:
    body = canary_at_step_two()
    body["status"] = status
    return body


CANDIDATE = {"name": "c"}
WRONG_PHASE = [
    (
        "promote",
        {"phase": "Promoted"},
        "phase is Promoted and no rollout is in progress; it is already Promoted",
    ),
    (
        "abort",
        {"phase": "RolledBack"},
        "it was rolled back; fix the spec in Git or `kubectl mdep retry scorer`",
    ),
    ("resume", {"phase": "Progressing", "candidate": CANDIDATE}, "phase is Progressing and it is not paused"),
    (
        "resume",
        {"phase": "Paused", "candidate": CANDIDATE, "pause": {"reason": "Gate"}},
        "waits at a manual gate; use `kubectl mdep promote scorer`",
    ),
    (
        "pause",
        {"phase": "Paused", "candidate": CANDIDATE, "pause": {"reason": "Manual"}},
        "cannot pause scorer: it is already paused (Manual); use resume",
    ),
    ("retry", {"phase": "Promoted"}, "retry is for a RolledBack, Degraded or Failed rollout"),
]


@pytest.mark.parametrize(("action", "status", "expected"), WRONG_PHASE)
def test_wrong_phase_errors_name_the_phase_and_the_way_out(
    action: str, status: dict[str, object], expected: str
) -> None:
    with pytest.raises(CliError) as err:
        check_action(action, _with(status))
    assert expected in str(err.value)
    assert err.value.code == 2


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("promote", {"phase": "Paused", "candidate": {"name": "c"}, "pause": {"reason": "Gate"}}),
        ("abort", {"phase": "Progressing", "candidate": {"name": "c"}}),
        ("resume", {"phase": "Paused", "candidate": {"name": "c"}, "pause": {"reason": "Manual"}}),
        ("retry", {"phase": "Degraded"}),
        ("promote-full", {"phase": "Pending", "candidate": {"name": "c"}}),
    ],
)
def test_actions_allowed_in_their_phase(action: str, status: dict[str, object]) -> None:
    check_action(action, _with(copy.deepcopy(status)))


def test_status_view_shows_each_comparison_with_stable() -> None:
    body = canary_at_step_two()
    metric = body["status"]["lastAnalysis"]["metrics"][0]
    metric["comparison"] = {
        "test": "proportion",
        "stable": 0.005,
        "candidate": 0.009,
        "stableSamples": 108000,
        "candidateSamples": 12000,
        "effect": 0.004,
        "lower": 0.0013,
        "upper": 0.0067,
        "pValue": 2e-6,
        "hypothesis": "nonInferiority",
        "margin": 0.001,
        "alpha": 0.05,
        "decision": "Fail",
    }
    out = render.status_view(body, NOW)
    assert "Compared:   candidate against stable, same window" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("  error-rate") and "proportion" in ln)
    assert row.split() == [
        "error-rate", "proportion", "0.005", "0.009", "108000/12000", "0.004", "[0.0013,", "0.0067]",
        "nonInferiority", "0.001", "@", "0.05", "Fail",
    ]  # fmt: skip


def test_status_view_without_comparisons_has_no_comparison_table() -> None:
    assert "Compared:" not in render.status_view(canary_at_step_two(), NOW)
