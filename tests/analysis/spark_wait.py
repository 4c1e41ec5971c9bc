"""Waiting for a pushed-down drift analysis as the reconciler does: ask again until the job's result is in."""

from __future__ import annotations

import time
from datetime import datetime

from modeldeploy.analysis.run import DriftAnalyzer
from modeldeploy.analysis.types import AnalysisConfig, DriftConfig, DriftResult
from modeldeploy.ports import AnalysisPending


def until_done(
    analyzer: DriftAnalyzer, config: DriftConfig, now: datetime, seconds: float = 300
) -> DriftResult:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return analyzer.run(AnalysisConfig(drift=config), now)
        except AnalysisPending:
            assert time.monotonic() < deadline, f"the local Spark job did not finish in {seconds:.0f} s"
            time.sleep(0.5)
