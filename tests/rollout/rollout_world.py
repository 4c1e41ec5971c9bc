"""A fake world for the rollout machine: revisions that become Ready, a router, an analyst.

It applies a decision the way the operator must (status first, then actions in order) and keeps a log of
every traffic split that was applied, so tests can check what was ever routed, not only the final state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from modeldeploy.api.status import (
    AnalysisResult,
    FeatureDrift,
    ManualAction,
    ManualRequest,
    MetricResult,
    ModelDeploymentStatus,
    ValidationResult,
    Verdict,
)
from modeldeploy.rollout import Decision, DesiredRevision, Inputs, RolloutPlan, decide, names_to_observe
from modeldeploy.rollout.actions import (
    DeleteRevision,
    EmitEvent,
    EnsureRevision,
    FireRetraining,
    RunAnalysis,
    SetTraffic,
    SyncStages,
    ValidateRevision,
)
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def desired(model: str, name: str = "fraud") -> DesiredRevision:
    return DesiredRevision.of(
        name, {"model": model}, model_version=model, model_ref=f"azureml:{name}:{model[1:]}"
    )


@dataclass
class World:
    plan: RolloutPlan
    model: str = "v1"
    generation: int = 1
    now: datetime = T0
    status: ModelDeploymentStatus = field(default_factory=ModelDeploymentStatus)
    revisions: dict[str, Readiness] = field(default_factory=dict)
    traffic: TrafficSplit | None = None
    broken: set[str] = field(default_factory=set)  # models whose revisions end Failed
    slow: set[str] = field(default_factory=set)  # models whose revisions never become Ready
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # model -> verdict (default Successful)
    drift: set[str] = field(default_factory=set)  # models whose analysis reports confirmed drift
    analysis: AnalysisResult | None = None
    invalid: set[str] = field(default_factory=set)  # models whose revisions answer validation wrongly
    unreachable: set[str] = field(default_factory=set)  # models whose revisions cannot be validated
    validation: ValidationResult | None = None
    validations: list[str] = field(default_factory=list)  # revisions sent a validation, in order
    syncs: list[SyncStages] = field(default_factory=list)  # stage syncs the registry accepted
    applied: list[TrafficSplit] = field(default_factory=list)
    events: list[EmitEvent] = field(default_factory=list)
    retrained: list[FireRetraining] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    analyses: int = 0
    request_seq: int = 0
    last: Decision | None = None
    decider: Callable[[Inputs], Decision] = decide
    observer: Callable[[World, Inputs, Decision], None] | None = None

    @property
    def desired(self) -> DesiredRevision:
        return desired(self.model)

    def inputs(self) -> Inputs:
        observed = self.observe(names_to_observe(self.status, self.desired))
        return Inputs(
            generation=self.generation,
            desired=self.desired,
            plan=self.plan,
            status=self.status,
            now=self.now,
            observed=observed,
            observed_traffic=self.traffic,
            analysis=self.analysis,
            validation=self.validation,
        )

    def tick(self, seconds: float = 0, keep: int | None = None) -> Decision:
        """Let time pass, let revisions progress, decide once and apply the decision.

        ``keep`` simulates a crash: the status was written but only the first ``keep`` actions ran.
        """
        self.now += timedelta(seconds=seconds)
        for name, state in list(self.revisions.items()):
            if state is Readiness.PROGRESSING:
                self.revisions[name] = self._settle(name)
        inputs = self.inputs()
        decision = self.decider(inputs)
        if self.observer is not None:
            self.observer(self, inputs, decision)
        self.status = decision.status  # status first, then the actions in order
        for action in decision.actions[:keep]:
            self._apply(action)
        self.last = decision
        return decision

    def observe(self, names: list[str]) -> dict[str, RevisionState]:
        return {n: RevisionState(n, self.revisions.get(n, Readiness.MISSING)) for n in names}

    def run(self, seconds: float, every: float = 10) -> None:
        elapsed = 0.0
        while elapsed < seconds:
            self.tick(every)
            elapsed += every

    def set_model(self, model: str) -> None:
        self.model = model
        self.generation += 1

    def request(self, action: ManualAction) -> str:
        self.request_seq += 1
        rid = f"r{self.request_seq}"
        req = ManualRequest(action=action, id=rid, requested_at=self.now)
        self.status = self.status.model_copy(update={"request": req})
        return rid

    def model_of(self, name: str) -> str:
        for model in ("v1", "v2", "v3", "v4"):
            if desired(model).name == name:
                return model
        raise AssertionError(f"unknown revision {name}")

    def _settle(self, name: str) -> Readiness:
        model = self.model_of(name)
        if model in self.broken:
            return Readiness.FAILED
        return Readiness.PROGRESSING if model in self.slow else Readiness.READY

    def _apply(self, action: Any) -> None:
        if isinstance(action, SetTraffic):
            for name, weight in action.split.weights.items():
                assert weight == 0 or self.revisions.get(name) is Readiness.READY, (
                    f"traffic to unready {name}"
                )
            self.traffic = action.split
            self.applied.append(action.split)
        elif isinstance(action, EnsureRevision):
            self.revisions.setdefault(action.name, Readiness.PROGRESSING)
        elif isinstance(action, DeleteRevision):
            assert action.not_before <= self.now
            self.revisions.pop(action.name, None)
            self.deleted.append(action.name)
        elif isinstance(action, ValidateRevision):
            self.validations.append(action.revision)
            model = self.model_of(action.revision)
            verdict = Verdict.SUCCESSFUL
            if model in self.unreachable:
                verdict = Verdict.ERROR
            if model in self.invalid:
                verdict = Verdict.FAILED
            msg = {Verdict.FAILED: "score: $.prediction is missing", Verdict.ERROR: "connection refused"}
            self.validation = ValidationResult(
                revision=action.revision, time=self.now, verdict=verdict, message=msg.get(verdict, "")
            )
        elif isinstance(action, SyncStages):
            self.syncs.append(action)  # the reconciler records what the registry accepted
            self.status = self.status.model_copy(update={"stages": action.desired})
        elif isinstance(action, RunAnalysis):
            self.analyses += 1
            self.analysis = self._analyse(action)
        elif isinstance(action, FireRetraining):
            self.retrained.append(action)
            if self.status.retraining is not None:  # the reconciler records a delivered call
                delivered = self.status.retraining.model_copy(update={"delivered": True, "attempts": 1})
                self.status = self.status.model_copy(update={"retraining": delivered})
        elif isinstance(action, EmitEvent):
            self.events.append(action)

    def _analyse(self, run: RunAnalysis) -> AnalysisResult:
        model = self.model_of(run.revision)
        drifted = model in self.drift
        verdict = Verdict.FAILED if drifted else self.verdicts.get(model, Verdict.SUCCESSFUL)
        return AnalysisResult(
            revision=run.revision,
            step_index=run.step_index,
            time=self.now,
            verdict=verdict,
            metrics=[MetricResult(name="error_rate", value=0.01, verdict=verdict)],
            drift=[
                FeatureDrift(
                    feature="amount",
                    test="ks",
                    statistic=0.4,
                    p_value=0.001,
                    threshold=0.05,
                    verdict=Verdict.FAILED if drifted else Verdict.SUCCESSFUL,
                )
            ],
            drift_detected=drifted,
            drift_id=f"drift-{model}" if drifted else None,
        )

    def weights(self) -> dict[str, int]:
        return dict(self.traffic.weights) if self.traffic else {}

    def mirror(self) -> str | None:
        return self.traffic.mirror if self.traffic else None

    def stable(self) -> str | None:
        return self.status.stable.name if self.status.stable else None

    def candidate(self) -> str | None:
        return self.status.candidate.name if self.status.candidate else None

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]
