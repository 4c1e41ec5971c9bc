"""Text views of ModelDeployments: pure functions of the object and the clock, so they are tested offline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from modeldeploy.report.lifecycle import version_rows

Body = dict[str, Any]
BAR = 20


def _status(body: Body) -> Body:
    s: Body = body.get("status") or {}
    return s


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def age(value: str | None, now: datetime) -> str:
    t = parse_time(value)
    if t is None:
        return "-"
    s = max(0, int((now - t).total_seconds()))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    ]
    return "\n".join(lines)


def strategy_steps(spec: Body) -> list[str]:
    """One line per step of the strategy, as the operator will walk them."""
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type")
    if kind == "canary":
        out = []
        for step in (strategy.get("canary") or {}).get("steps", []):
            parts = [f"weight {step['weight']}%"]
            pause = step.get("pause")
            if pause is not None:
                parts.append(f"pause {pause['duration']}" if pause.get("duration") else "manual gate")
            if step.get("analysis"):
                parts.append("analysis")
            out.append(", ".join(parts))
        return out
    if kind == "shadow":
        sh = strategy.get("shadow") or {}
        return [
            f"mirror {sh.get('mirrorPercent')}% for {sh.get('duration')}, compare",
            f"promote ({sh.get('promotion', 'manual')})",
        ]
    if kind == "blueGreen":
        bg = strategy.get("blueGreen") or {}
        analysis = ", analysis" if bg.get("analysis", True) else ""
        return [
            f"preview {bg.get('previewDuration', '5m')}{analysis}",
            f"switch ({bg.get('promotion', 'manual')})",
        ]
    return []


def weights_cell(status: Body) -> str:
    weights: dict[str, int] = (status.get("traffic") or {}).get("weights") or {}
    stable = (status.get("stable") or {}).get("name")
    order = sorted(weights, key=lambda r: (r != stable, r))
    return " ".join(f"{r}={weights[r]}" for r in order) or "-"


def step_cell(body: Body) -> str:
    i = _status(body).get("currentStepIndex")
    n = len(strategy_steps(body.get("spec") or {}))
    return "-" if i is None or n == 0 else f"{i + 1}/{n}"


def list_view(items: Sequence[Body], now: datetime, all_namespaces: bool) -> str:
    if not items:
        return "No ModelDeployments found."
    header = ["NAME", "PHASE", "STRATEGY", "STEP", "TRAFFIC", "MIRROR", "ANALYSIS", "MODEL", "AGE"]
    if all_namespaces:
        header = ["NAMESPACE", *header]
    rows = []
    for b in items:
        st = _status(b)
        spec = b.get("spec") or {}
        traffic = st.get("traffic") or {}
        mirror = f"{traffic['mirror']}@{traffic.get('mirrorPercent', 0)}%" if traffic.get("mirror") else "-"
        analysis = (st.get("lastAnalysis") or {}).get("verdict", "-")
        model = spec.get("model") or {}
        row = [
            b["metadata"]["name"],
            st.get("phase") or "Unknown",
            (spec.get("strategy") or {}).get("type", "-"),
            step_cell(b),
            weights_cell(st),
            mirror,
            analysis,
            f"{model.get('name', '?')}:{model.get('version', '?')}",
            age(b["metadata"].get("creationTimestamp"), now),
        ]
        rows.append([b["metadata"].get("namespace", ""), *row] if all_namespaces else row)
    return table(header, rows)


def bar(weight: int, width: int = BAR) -> str:
    filled = round(width * max(0, min(weight, 100)) / 100)
    return "#" * filled + "." * (width - filled)


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def _revision_line(label: str, rec: Body | None, now: datetime) -> str:
    if not rec:
        return f"{label:<11} -"
    ready = f", ready {age(rec.get('readyAt'), now)} ago" if rec.get("readyAt") else ", not ready"
    return f"{label:<11} {rec['name']} (model {rec.get('modelVersion') or '?'}{ready})"


def status_view(body: Body, now: datetime) -> str:
    """The live view: phase, revisions, traffic bars, steps (the current one marked), analysis, drift."""
    meta, spec, st = body["metadata"], body.get("spec") or {}, _status(body)
    lines = [f"{'Name:':<11} {meta['name']}  (namespace {meta.get('namespace', '?')})"]
    phase = st.get("phase") or "Unknown"
    pause = st.get("pause")
    if pause:
        phase += f" ({'manual pause' if pause.get('reason') == 'Manual' else 'waiting at a gate: promote'}"
        phase += f", {age(pause.get('since'), now)})"
    lines.append(f"{'Phase:':<11} {phase}")
    if st.get("message"):
        lines.append(f"{'Message:':<11} {st['message']}")
    model = spec.get("model") or {}
    lines.append(f"{'Model:':<11} {model.get('name', '?')} {model.get('version', '?')}")
    lines.append(_revision_line("Stable:", st.get("stable"), now))
    lines.append(_revision_line("Candidate:", st.get("candidate"), now))
    traffic = st.get("traffic") or {}
    weights: dict[str, int] = traffic.get("weights") or {}
    lines.append("Traffic:" if weights else f"{'Traffic:':<11} none")
    stable = (st.get("stable") or {}).get("name")
    for rev in sorted(weights, key=lambda r: (r != stable, r)):
        lines.append(f"  {rev:<28} [{bar(weights[rev])}] {weights[rev]:>3}%")
    if traffic.get("mirror"):
        pct = int(traffic.get("mirrorPercent") or 0)
        lines.append(f"  {traffic['mirror'] + ' (mirror)':<28} [{bar(pct)}] {pct:>3}%")
    if spec.get("batch"):
        from modeldeploy.cli.batch import status_lines  # batch models show runs instead of steps

        lines.extend(status_lines(body))
    else:
        lines.extend(steps_lines(body, now))
    lines.extend(analysis_lines(st.get("lastAnalysis"), now))
    req = st.get("request")
    if req:
        handled = st.get("lastHandledRequestId") == req.get("id")
        result = st.get("lastHandledRequestResult") if handled else "pending"
        lines.append(f"{'Request:':<11} {req.get('action')} {req.get('id', '')[:8]}: {result}")
    retr = st.get("retraining")
    if retr:
        feats = ", ".join(retr.get("features") or []) or "prediction"
        lines.append(f"{'Retraining:':<11} fired {age(retr.get('firedAt'), now)} ago for drift in {feats}")
    conds = st.get("conditions") or []
    if conds:
        lines.append("Conditions:")
        for c in conds:
            msg = f": {c['message']}" if c.get("message") else ""
            lines.append(f"  {c['type']}={c.get('status', 'Unknown')} {c.get('reason', '')}{msg}")
    return "\n".join(lines)


def _last_failure(st: Body) -> Body | None:
    """The failed revision Git still holds: the newest entry of ``failedRevisions``."""
    failed: list[Body] = st.get("failedRevisions") or []
    return failed[-1] if failed else None


def stopped_step(st: Body, revision: str) -> int | None:
    """The step (0-based) at which ``revision`` stopped: its last analysis, else its last StepStarted event.

    None when it never reached a step (e.g. it never became Ready).
    """
    last = st.get("lastAnalysis") or {}
    if last.get("revision") == revision and last.get("stepIndex") is not None:
        return int(last["stepIndex"])
    for h in reversed(st.get("history") or []):
        if h.get("revision") == revision and h.get("reason") == "StepStarted":
            head = (h.get("message") or "").split(":", 1)[0]  # "step 2/4: revision ... takes ..."
            number = head.removeprefix("step ").split("/", 1)[0]
            if head.startswith("step ") and number.isdigit():
                return int(number) - 1
    return None


def steps_lines(body: Body, now: datetime) -> list[str]:
    """The strategy's steps: done [x], current [>], not reached [ ]; a rollback's stopping step is [!].

    With no candidate the status has no current step, so the phase says how the last rollout ended: a
    promoted revision walked every step; a rolled-back (or aborted, or failed) one stopped where its last
    analysis or step event says.
    """
    spec, st = body.get("spec") or {}, _status(body)
    steps = strategy_steps(spec)
    if not steps:
        return []
    title = f"Steps ({(spec.get('strategy') or {}).get('type')}):"
    phase = st.get("phase")
    if not st.get("candidate") and phase == "Promoted":
        stable = (st.get("stable") or {}).get("name", "?")
        return [f"{title} all done, revision {stable} promoted"] + [
            f"  [x] {i + 1}. {text}" for i, text in enumerate(steps)
        ]
    failure = _last_failure(st)
    if not st.get("candidate") and phase in ("RolledBack", "Degraded", "Failed") and failure:
        stop = stopped_step(st, failure.get("name", ""))
        why = f"{failure.get('reason') or phase}" + (
            f": {failure['message']}" if failure.get("message") else ""
        )
        if stop is None:
            lines = [f"{title} revision {failure.get('name', '?')} stopped before step 1 ({why})"]
            return lines + [f"  [ ] {i + 1}. {text}" for i, text in enumerate(steps)]
        lines = [f"{title} revision {failure.get('name', '?')} stopped at step {stop + 1}/{len(steps)}"]
        for i, text in enumerate(steps):
            mark = "x" if i < stop else ("!" if i == stop else " ")
            note = f"   <- stopped here: {why}" if i == stop else ""
            lines.append(f"  [{mark}] {i + 1}. {text}{note}")
        return lines
    current = st.get("currentStepIndex")
    started = st.get("stepStartedAt")
    lines = [title]
    for i, text in enumerate(steps):
        mark = " " if current is None or i > current else ("x" if i < current else ">")
        since = f"   (since {age(started, now)})" if i == current and started else ""
        lines.append(f"  [{mark}] {i + 1}. {text}{since}")
    return lines


def analysis_lines(a: Body | None, now: datetime) -> list[str]:
    if not a:
        return [f"{'Analysis:':<11} none yet"]
    step = a.get("stepIndex")
    where = f" at step {step + 1}" if step is not None else ""
    lines = [
        f"{'Analysis:':<11} {a.get('verdict', '?')} for {a.get('revision', '?')}{where} "
        f"({age(a.get('time'), now)} ago){': ' + a['message'] if a.get('message') else ''}"
    ]
    metrics = a.get("metrics") or []
    if metrics:
        rows = [
            [m["name"], _fmt(m.get("value")), m.get("verdict", "?"), m.get("message", "")] for m in metrics
        ]
        lines += ["  " + ln for ln in table(["METRIC", "VALUE", "VERDICT", "MESSAGE"], rows).splitlines()]
    lines += comparison_lines(metrics)
    drift = a.get("drift") or []
    if drift:
        share = a.get("datasetDriftShare")
        detected = "DRIFT DETECTED" if a.get("driftDetected") else "no dataset drift"
        share_text = f", drifted share {share:.2f}" if share is not None else ""
        lines.append(f"{'Drift:':<11} {detected}{share_text}")
        rows = [
            [
                f["feature"],
                f.get("test", "?"),
                _fmt(f.get("statistic")),
                _fmt(f.get("pValue")),
                _fmt(f.get("distance")),
                _fmt(f.get("threshold")),
                ("DRIFT" if f.get("verdict") == "Failed" else f.get("verdict", "?")),
            ]
            for f in drift
        ]
        header = ["FEATURE", "TEST", "STATISTIC", "P-VALUE", "DISTANCE", "THRESHOLD", "VERDICT"]
        lines += ["  " + ln for ln in table(header, rows).splitlines()]
        engines = sorted({str(f["engine"]) for f in drift if f.get("engine")})
        if engines:  # in-process, or a Spark job when a window was over the pod limit, and why
            lines.append(f"  engine: {'; '.join(engines)}")
    return lines


def comparison_lines(metrics: Sequence[Body]) -> list[str]:
    """Each metric judged against stable: both values, the samples, the effect (candidate minus stable)
    with its always-valid interval, the test and the decision."""
    rows = []
    for m in metrics:
        c = m.get("comparison")
        if not c:
            continue
        interval = "-" if c.get("lower") is None else f"[{_fmt(c.get('lower'))}, {_fmt(c.get('upper'))}]"
        rows.append(
            [
                m["name"],
                c.get("test", "?"),
                _fmt(c.get("stable")),
                _fmt(c.get("candidate")),
                f"{c.get('stableSamples', 0)}/{c.get('candidateSamples', 0)}",
                _fmt(c.get("effect")),
                interval,
                f"{c.get('hypothesis', '?')} {_fmt(c.get('margin'))} @ {_fmt(c.get('alpha'))}",
                c.get("decision", "?"),
            ]
        )
    if not rows:
        return []
    header = ["METRIC", "TEST", "STABLE", "CANDIDATE", "N S/C", "EFFECT", "INTERVAL", "RULE", "DECISION"]
    return [f"{'Compared:':<11} candidate against stable, same window"] + [
        "  " + ln for ln in table(header, rows).splitlines()
    ]


def history_view(body: Body, now: datetime) -> str:
    """The versions (stage, validation) and then every transition, newest last."""
    history = _status(body).get("history") or []
    if not history:
        return f"No history recorded for {body['metadata']['name']} yet."
    versions = version_rows(_status(body))
    head = table(["REVISION", "MODEL", "STAGE", "SINCE", "VALIDATION"], versions) + "\n\n" if versions else ""
    rows = [
        [
            h.get("time") or "-",
            age(h.get("time"), now),
            h.get("phase") or "-",
            h.get("revision") or "-",
            h.get("reason") or "-",
            h.get("message") or "",
        ]
        for h in history
    ]
    return head + table(["TIME", "AGE", "PHASE", "REVISION", "REASON", "MESSAGE"], rows)


def now_utc() -> datetime:
    return datetime.now(UTC)
