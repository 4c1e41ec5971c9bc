"""One analysis run: every metric check, then drift, folded into one verdict.

Failed beats everything (a breached metric or confirmed drift); otherwise any Inconclusive or missing data
makes the run Inconclusive; otherwise Successful. Nothing here raises for bad or missing data: the verdict
and its message say what happened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from modeldeploy.ports import AnalysisPending

from .providers import MetricProvider
from .stores import DataUnavailable
from .types import AnalysisConfig, DriftConfig, DriftResult, MetricCheck, MetricOutcome, RunResult, Verdict

if TYPE_CHECKING:  # the drift engine (numpy, scipy, pyarrow) loads with the first drift check, not before
    from .drift import ReferenceProfile
    from .pushdown import Pushdown
    from .sources import DataSource
    from .window_files import WindowFiles


@dataclass(frozen=True)
class Sources:
    reference: DataSource
    live: DataSource
    live_window: timedelta = timedelta(hours=1)


def check_metric(
    check: MetricCheck, providers: Mapping[str, MetricProvider], start: datetime, end: datetime
) -> MetricOutcome:
    provider = providers.get(check.provider)
    if provider is None:
        known = ", ".join(sorted(providers)) or "none"
        msg = f"metric {check.name!r}: no provider {check.provider!r} configured (configured: {known})"
        return MetricOutcome(check.name, Verdict.ERROR, None, msg)
    outcome = _against_bounds(check, provider, start, end)
    if check.compare is None or check.compare.baseline_params is None:
        return outcome  # no comparison asked, or no stable revision to compare with (monitoring stable)
    from .comparison.fetch import compare_metric  # scipy loads with the first comparison

    compared = compare_metric(check, provider, start, end)
    if outcome.verdict is Verdict.FAILED or (
        outcome.verdict is Verdict.ERROR and compared.verdict is not Verdict.FAILED
    ):
        return dataclasses.replace(outcome, comparison=compared.comparison)
    # The bounds passed or had no value: the comparison decides (Continue is Inconclusive and holds the
    # step; the machine tells it from missing data by the comparison's decision).
    return MetricOutcome(check.name, compared.verdict, outcome.value, compared.message, compared.comparison)


def _against_bounds(
    check: MetricCheck, provider: MetricProvider, start: datetime, end: datetime
) -> MetricOutcome:
    answer = provider.query(check.query, check.params, start, end)
    if answer.value is None and answer.error:
        return MetricOutcome(check.name, Verdict.ERROR, None, f"metric {check.name!r}: {answer.message}")
    if answer.value is None:
        return MetricOutcome(check.name, Verdict.INCONCLUSIVE, None, answer.message)
    v = answer.value
    if check.min is not None and v < check.min:
        return MetricOutcome(
            check.name, Verdict.FAILED, v, f"{check.name} = {v:g} is below the minimum {check.min:g}"
        )
    if check.max is not None and v > check.max:
        return MetricOutcome(
            check.name, Verdict.FAILED, v, f"{check.name} = {v:g} is above the maximum {check.max:g}"
        )
    return MetricOutcome(check.name, Verdict.SUCCESSFUL, v, "")


class DriftAnalyzer:
    """Keeps the reference profile between runs: the reference is read and sorted once, not per interval.
    With ``pushdown``, windows larger than its limit are analysed by a Spark job instead (``pushdown``)."""

    def __init__(self, sources: Sources, pushdown: Pushdown | None = None) -> None:
        self.sources = sources
        self.pushdown = pushdown
        self._profile: ReferenceProfile | None = None

    def close(self) -> None:
        """Cancel a Spark job still running for this analyzer (its object is gone or its spec changed)."""
        if self.pushdown is not None:
            self.pushdown.cancel()

    def run(self, config: AnalysisConfig, now: datetime) -> DriftResult:
        """Raises ``AnalysisPending`` while a Spark job computes the result."""
        assert config.drift is not None
        from .drift import compare, profile_reference

        push = self.pushdown
        try:
            if push is not None and push.running:
                return push.poll(config.drift)
            if push is not None:
                start = now - self.sources.live_window
                routed = push.route(config.drift, self.sources.reference, self.sources.live, start, now)
                if routed is not None:
                    return _submit(push, config.drift, routed)
            if self._profile is None or self._profile.config != config.drift:
                self._profile = profile_reference(config.drift, self.sources.reference.load(None, None))
            live = self.sources.live.load(now - self.sources.live_window, now)
        except DataUnavailable as exc:
            return DriftResult(Verdict.INCONCLUSIVE, (), message=f"drift not evaluated: {exc}")
        except ValueError as exc:
            return DriftResult(Verdict.ERROR, (), message=f"drift not evaluated: {exc}")
        result = compare(self._profile, live)
        if push is not None:
            from .pushdown import stamp

            result = stamp(result, push.in_process)
        return result


def _submit(push: Pushdown, config: DriftConfig, routed: tuple[WindowFiles, WindowFiles, str]) -> DriftResult:
    """Raises ``AnalysisPending`` once submitted; a submission that fails is Inconclusive."""
    try:
        push.submit(config, *routed)
    except AnalysisPending:
        raise
    except Exception as exc:
        msg = f"drift not evaluated: the Spark job was not submitted: {type(exc).__name__}: {exc}"
        return DriftResult(Verdict.INCONCLUSIVE, (), message=msg[:1000])
    raise AssertionError("submit returns only by raising")  # pragma: no cover


def run_analysis(
    config: AnalysisConfig,
    drift: DriftAnalyzer | None,
    providers: Mapping[str, MetricProvider],
    now: datetime,
    extra: tuple[MetricOutcome, ...] = (),
) -> RunResult:
    """``extra``: outcomes measured elsewhere (e.g. shadow comparisons), folded in like any metric."""
    start = now - timedelta(seconds=config.window_seconds)
    metrics = tuple(check_metric(c, providers, start, now) for c in config.metrics) + extra
    drift_result = drift.run(config, now) if config.drift is not None and drift is not None else None
    return fold(metrics, drift_result)


def fold(metrics: tuple[MetricOutcome, ...], drift_result: DriftResult | None) -> RunResult:
    verdicts = [m.verdict for m in metrics] + ([drift_result.verdict] if drift_result else [])
    failed = [m.message for m in metrics if m.verdict is Verdict.FAILED]
    if drift_result and drift_result.verdict is Verdict.FAILED:
        failed.append(f"drift: {drift_result.message}")
    if failed:
        return RunResult(Verdict.FAILED, metrics, drift_result, "; ".join(failed))
    open_ = [m.message for m in metrics if m.verdict is not Verdict.SUCCESSFUL]
    if drift_result and drift_result.verdict is not Verdict.SUCCESSFUL:
        open_.append(drift_result.message)
    if Verdict.ERROR in verdicts:
        return RunResult(Verdict.ERROR, metrics, drift_result, "; ".join(open_))
    if open_:
        return RunResult(Verdict.INCONCLUSIVE, metrics, drift_result, "; ".join(open_))
    return RunResult(Verdict.SUCCESSFUL, metrics, drift_result, "all checks passed")
