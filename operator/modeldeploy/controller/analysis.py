"""The production analysis runner: the spec's metrics and drift checks through ``modeldeploy.analysis``."""

from __future__ import annotations

from datetime import datetime

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult
from modeldeploy.backends.base import Owner
from modeldeploy.rollout.actions import RunAnalysis


class DefaultAnalysisRunner:
    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        from modeldeploy.analysis.from_spec import analyse  # type: ignore[import-not-found,unused-ignore]

        result: AnalysisResult = analyse(owner, spec, request, now)
        return result
