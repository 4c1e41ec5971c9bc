"""A small world for the batch machine: templates and Jobs that the actions create, and a clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from modeldeploy.api.batch_status import BatchStatus, RunPhase, RunRequest
from modeldeploy.api.status import ModelDeploymentStatus, Verdict
from modeldeploy.rollout.actions import EmitEvent
from modeldeploy.rollout.batch import decide_batch
from modeldeploy.rollout.batch_types import (
    BatchDecision,
    BatchInputs,
    BatchPlan,
    CompareRuns,
    ComparisonSeen,
    DeleteBatchRevision,
    EnsureBatchRevision,
    JobSeen,
    StartRun,
)
from modeldeploy.rollout.revision import DesiredRevision

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
OWNER = "churn"


def desired(version: str) -> DesiredRevision:
    return DesiredRevision.of(OWNER, {"model": version}, version)


def plan(**changes: object) -> BatchPlan:
    base = BatchPlan(
        rollout=True,
        default_input="file:///data/in/",
        output="file:///data/out/{revision}",
        rollout_input="file:///data/golden/",
        max_row_count_delta=0.0,
        max_error_rate=0.0,
        poll_interval=60.0,
        watched="file:///data/incoming/",
        max_files=2,
        schedules_key="nightly=0 2 * * *@UTC|file:///data/in/",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class BatchWorld:
    plan: BatchPlan = field(default_factory=plan)
    desired: DesiredRevision = field(default_factory=lambda: desired("1.0.0"))
    status: ModelDeploymentStatus = field(default_factory=ModelDeploymentStatus)
    now: datetime = T0
    templates: set[str] = field(default_factory=set)
    jobs: dict[str, JobSeen] = field(default_factory=dict)
    events: list[EmitEvent] = field(default_factory=list)
    started: list[StartRun] = field(default_factory=list)
    compared: list[CompareRuns] = field(default_factory=list)
    verdict: ComparisonSeen = field(
        default_factory=lambda: ComparisonSeen(Verdict.SUCCESSFUL, "same", 100, 100, 0.01)
    )

    def inputs(
        self,
        arrivals: tuple[str, ...] | None = None,
        comparison: ComparisonSeen | None = None,
        refusal: str | None = None,
    ) -> BatchInputs:
        return BatchInputs(
            generation=1,
            owner=OWNER,
            desired=self.desired,
            plan=self.plan,
            status=self.status,
            now=self.now,
            revisions=frozenset(self.templates),
            jobs=tuple(self.jobs.values()),
            arrivals=arrivals,
            comparison=comparison,
            request_refusal=refusal,
        )

    def step(self, arrivals: tuple[str, ...] | None = None, refusal: str | None = None) -> BatchDecision:
        """One reconcile as the controller runs it: decide, act, and a second pass when a comparison ran."""
        decision = decide_batch(self.inputs(arrivals, refusal=refusal))
        comparison = self._act(decision)
        if comparison is not None:
            decision = decide_batch(self.inputs(None, comparison, refusal))
            self._act(decision)
        return decision

    def _act(self, decision: BatchDecision) -> ComparisonSeen | None:
        self.status = decision.status
        comparison = None
        for a in decision.actions:
            match a:
                case EnsureBatchRevision(name=name):
                    self.templates.add(name)
                case DeleteBatchRevision(name=name):
                    self.templates.discard(name)
                case StartRun():
                    self.started.append(a)
                    self.jobs.setdefault(
                        a.name, JobSeen(a.name, a.revision, a.trigger, a.input, created_at=self.now)
                    )
                case CompareRuns():
                    self.compared.append(a)
                    comparison = self.verdict
                case EmitEvent():
                    self.events.append(a)
        return comparison

    def finish(self, name: str, ok: bool = True, failed_pods: int = 0) -> None:
        job = self.jobs[name]
        phase = RunPhase.SUCCEEDED if ok else RunPhase.FAILED
        self.jobs[name] = replace(
            job,
            phase=phase,
            succeeded=1 if ok else 0,
            failed=failed_pods or (0 if ok else 1),
            finished_at=self.now,
        )

    def finish_all(self, ok: bool = True) -> None:
        for name, job in list(self.jobs.items()):
            if job.phase is RunPhase.RUNNING:
                self.finish(name, ok)

    def request(self, id_: str, uri: str | None = None) -> None:
        batch = self.status.batch or BatchStatus()
        req = RunRequest(id=id_, input=uri, requested_at=self.now)
        self.status = self.status.model_copy(update={"batch": batch.model_copy(update={"run_request": req})})

    def tick(self, seconds: float = 10) -> None:
        self.now += timedelta(seconds=seconds)

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]
