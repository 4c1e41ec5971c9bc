"""Which manual action makes sense in which state, checked before a request is written.

The operator checks again (the state may change between read and handling) and records a rejection in
``lastHandledRequestResult``; checking here first gives the user the reason at once, with what to do instead.
"""

from __future__ import annotations

from typing import Any

from modeldeploy.cli.errors import CliError

Body = dict[str, Any]
FAILED_PHASES = ("RolledBack", "Degraded", "Failed")


def check_action(action: str, body: Body) -> None:
    st: Body = body.get("status") or {}
    name = body["metadata"]["name"]
    phase = st.get("phase") or "Unknown"
    candidate = st.get("candidate")
    pause = st.get("pause")
    if action in ("promote", "promote-full", "abort", "pause") and not candidate:
        hint = {
            "Promoted": "it is already Promoted; change the spec in Git to start a new rollout",
            "RolledBack": f"it was rolled back; fix the spec in Git or `kubectl mdep retry {name}`",
            "Degraded": f"the candidate was aborted; `kubectl mdep retry {name}` rolls it out again",
            "Failed": f"it failed; fix the spec in Git or `kubectl mdep retry {name}`",
        }.get(phase, "wait until the operator has started a rollout")
        raise CliError(
            f"cannot {action} {name}: phase is {phase} and no rollout is in progress; {hint}", code=2
        )
    if action == "pause" and pause:
        how = "resume" if pause.get("reason") == "Manual" else "promote"
        raise CliError(
            f"cannot pause {name}: it is already paused ({pause.get('reason')}); use {how}", code=2
        )
    if action == "resume":
        if not pause:
            raise CliError(f"cannot resume {name}: phase is {phase} and it is not paused", code=2)
        if pause.get("reason") == "Gate":
            raise CliError(
                f"cannot resume {name}: it waits at a manual gate; use `kubectl mdep promote {name}`",
                code=2,
            )
    if action == "retry" and phase not in FAILED_PHASES:
        raise CliError(
            f"cannot retry {name}: phase is {phase}; retry is for a RolledBack, Degraded or Failed rollout",
            code=2,
        )
