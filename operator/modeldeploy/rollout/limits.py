"""One analysis result held to the spec's limits: which failures are tolerated, which drifts are confirmed.

An analysis run reports raw verdicts (a metric out of bounds, a drifted dataset). Whether that fails the
rollout depends on history the run does not have: each metric's ``failureLimit`` and ``inconclusiveLimit``
(counted per step, as Argo Rollouts counts them per analysis run), what ``onInconclusive`` says past the
limit, and how many drifted analyses in a row ``drift.confirmations`` asks for. The counts live in
``status.counters``, so the judgement is a pure function of (result, counters, plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from modeldeploy.api.status import AnalysisResult, Counters, MetricTally, Verdict
from modeldeploy.rollout.plan import MetricLimits, RolloutPlan

INCONCLUSIVE = (Verdict.INCONCLUSIVE, Verdict.INSUFFICIENT_DATA)
CONTINUE = "Continue"  # a comparison's decision while its interval still spans the margin


class Outcome(StrEnum):
    """What the run means for the step."""

    PASSED = "passed"  # counts toward the step's successes
    FAILED = "failed"  # a metric past its failureLimit (or onInconclusive: fail), or a confirmed drift
    ERROR = "error"  # the analysis itself broke; run-level errorLimit applies
    PAUSE = "pause"  # a metric past its inconclusiveLimit with onInconclusive: pause
    INCONCLUSIVE = (
        "inconclusive"  # drift or an unnamed check lacked data; run-level inconclusiveLimit applies
    )
    WAIT = "wait"  # tolerated: a failure within failureLimit, an unconfirmed drift; measured again


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    counters: Counters
    drift_confirmed: bool
    reasons: tuple[str, ...]  # why the outcome is not PASSED, for messages


def judge(result: AnalysisResult, counters: Counters, plan: RolloutPlan) -> Judgement:
    limits = {m.name: m for m in plan.metric_limits}
    failures = {t.name: t.failures for t in counters.metrics}
    inconclusives = {t.name: t.inconclusives for t in counters.metrics}
    failed: list[str] = []
    paused: list[str] = []
    waiting: list[str] = []
    open_: list[str] = []
    for m in result.metrics:
        lim = limits.get(m.name)
        if m.verdict is Verdict.FAILED:
            n = failures[m.name] = failures.get(m.name, 0) + 1
            tolerated = lim.failure_limit if lim is not None else 0
            why = m.message or f"{m.name} failed"
            if n > tolerated:
                failed.append(
                    why if not tolerated else f"{why} ({n} failed measurements, failureLimit {tolerated})"
                )
            else:
                waiting.append(f"{why} ({n} of {tolerated} tolerated failures)")
        elif m.verdict in INCONCLUSIVE:
            if m.comparison is not None and m.comparison.decision == CONTINUE:
                # Enough data, no decision yet: the sequential interval may look again without spending
                # more error, so the step holds (no success) rather than counting toward inconclusiveLimit.
                waiting.append(m.message or f"{m.name}: comparison with stable undecided")
                continue
            if lim is None:
                open_.append(m.message or f"{m.name} inconclusive")
                continue
            n = inconclusives[m.name] = inconclusives.get(m.name, 0) + 1
            _past_inconclusive_limit(lim, n, m.message, failed, paused, waiting)
    drifted = result.drift_detected
    drifts = counters.consecutive_drifts + 1 if drifted else 0
    confirmed = drifted and drifts >= plan.drift_confirmations
    if drifted and not confirmed:
        waiting.append(
            f"drift seen {drifts} of {plan.drift_confirmations} times in a row needed to confirm it"
        )
    if result.drift_verdict in INCONCLUSIVE:
        open_.append("drift: " + (result.message or "not enough data"))
    tallies = [
        MetricTally(name=n, failures=failures.get(n, 0), inconclusives=inconclusives.get(n, 0))
        for n in sorted(failures.keys() | inconclusives.keys())
    ]
    new = counters.model_copy(update={"metrics": tallies, "consecutive_drifts": drifts})
    if confirmed:
        failed.append("drift: " + _drift_detail(result))
    if failed:
        return Judgement(Outcome.FAILED, new, confirmed, tuple(failed))
    if result.verdict is Verdict.ERROR:
        return Judgement(Outcome.ERROR, new, False, (result.message or "analysis error",))
    if paused:
        return Judgement(Outcome.PAUSE, new, False, tuple(paused))
    if open_:
        return Judgement(Outcome.INCONCLUSIVE, new, False, tuple(open_ + waiting))
    if waiting:
        return Judgement(Outcome.WAIT, new, False, tuple(waiting))
    explained = (
        drifted
        or result.drift_verdict not in (None, Verdict.SUCCESSFUL)
        or any(m.verdict is not Verdict.SUCCESSFUL for m in result.metrics)
    )
    if not explained and result.verdict is Verdict.FAILED:  # a failure nothing explains: never let it pass
        return Judgement(Outcome.FAILED, new, False, (result.message or "analysis failed",))
    if not explained and result.verdict in INCONCLUSIVE:
        return Judgement(Outcome.INCONCLUSIVE, new, False, (result.message or result.verdict.value,))
    return Judgement(Outcome.PASSED, new, False, ())


def _past_inconclusive_limit(
    lim: MetricLimits, n: int, message: str, failed: list[str], paused: list[str], waiting: list[str]
) -> None:
    why = message or f"{lim.name} had no data"
    if n <= lim.inconclusive_limit:
        waiting.append(f"{why} ({n} of {lim.inconclusive_limit} tolerated inconclusive measurements)")
        return
    past = f"{why} ({n} inconclusive measurements, inconclusiveLimit {lim.inconclusive_limit})"
    if lim.on_inconclusive == "fail":
        failed.append(past)
    elif lim.on_inconclusive == "pause":
        paused.append(past)
    # "ignore": past its limit the metric no longer holds the step.


def _drift_detail(result: AnalysisResult) -> str:
    features = sorted(d.feature for d in result.drift if d.verdict is Verdict.FAILED)
    return ", ".join(features) if features else (result.message or "dataset drift")
