"""In-memory ports for reconciler tests: a backend whose revisions become ready at once, a status store with
resourceVersion compare-and-swap, an event list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import AnalysisResult, ModelDeploymentStatus, Verdict
from modeldeploy.ports import BackendError, Conflict, Owner, RevisionRequest, ScoringAddress
from modeldeploy.rollout.actions import EventType, FireRetraining, RunAnalysis
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit


@dataclass
class FakeBackend:
    revisions: dict[str, RevisionState] = field(default_factory=dict)
    traffic: TrafficSplit | None = None
    fail_with: BackendError | None = None
    calls: list[str] = field(default_factory=list)

    def _check(self, what: str) -> None:
        self.calls.append(what)
        if self.fail_with is not None:
            raise self.fail_with

    def ensure_revision(self, owner: Owner, revision: RevisionRequest) -> RevisionState:
        self._check(f"ensure {revision.name}")
        state = RevisionState(revision.name, Readiness.READY, 1, 1)
        self.revisions[revision.name] = state
        return state

    def revision_state(self, owner: Owner, name: str) -> RevisionState:
        return self.revisions.get(name, RevisionState(name, Readiness.MISSING))

    def set_traffic(self, owner: Owner, split: TrafficSplit) -> None:
        self._check(f"traffic {dict(split.weights)}")
        self.traffic = split

    def observed_traffic(self, owner: Owner) -> TrafficSplit | None:
        return self.traffic

    def delete_revision(self, owner: Owner, name: str) -> None:
        self._check(f"delete {name}")
        self.revisions.pop(name, None)

    def delete_all(self, owner: Owner) -> None:
        self.revisions.clear()
        self.traffic = None

    def scoring_address(self, owner: Owner, name: str) -> ScoringAddress:
        return ScoringAddress(f"http://{name}.{owner.namespace}.test")


@dataclass
class FakeStore:
    version: int = 1
    status: ModelDeploymentStatus = field(default_factory=ModelDeploymentStatus)
    writes: int = 0
    confirms: int = 0

    def write_status(
        self,
        owner: Owner,
        resource_version: str,
        status: ModelDeploymentStatus,
        previous: ModelDeploymentStatus,
    ) -> str:
        if resource_version != str(self.version):
            raise Conflict(f"stale resourceVersion {resource_version}, current {self.version}")
        self.version += 1
        self.status = status
        self.writes += 1
        return str(self.version)

    def confirm_current(self, owner: Owner, resource_version: str) -> None:
        self.confirms += 1
        if resource_version != str(self.version):
            raise Conflict(f"stale resourceVersion {resource_version}, current {self.version}")


@dataclass
class FakeEvents:
    events: list[tuple[EventType, str, str]] = field(default_factory=list)

    def emit(self, owner: Owner, type: EventType, reason: str, message: str) -> None:
        self.events.append((type, reason, message))


@dataclass
class FixedAnalysis:
    verdict: Verdict = Verdict.SUCCESSFUL
    runs: list[RunAnalysis] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)

    def run(
        self, owner: Owner, spec: ModelDeploymentSpec, request: RunAnalysis, now: datetime
    ) -> AnalysisResult:
        self.runs.append(request)
        return AnalysisResult(
            revision=request.revision,
            step_index=request.step_index,
            time=now,
            verdict=self.verdict,
            message=f"fixed {self.verdict.value}",
        )

    def forget(self, uid: str) -> None:
        self.forgotten.append(uid)


@dataclass
class NoRetraining:
    fired: list[FireRetraining] = field(default_factory=list)

    def fire(self, owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, now: datetime) -> str:
        self.fired.append(request)
        return "job-1"
