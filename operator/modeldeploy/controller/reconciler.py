"""One reconcile: parse, observe, decide, record, act.

The order is what makes a crash harmless: the decided status is written (with the resourceVersion it was
read at, so a concurrent writer costs a retry, not a lost update) before any action touches the world. If
the process dies after the write, the next reconcile sees the same status and the same mismatch between the
desired and observed traffic, and emits the same actions again. A revision that failed analysis is recorded
as failed in that first write, so no later decision can route to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError

from modeldeploy.api import platform
from modeldeploy.api.handoff import Handoff, PlatformDefaultsError
from modeldeploy.api.spec import ModelDeploymentSpec, object_name_problem
from modeldeploy.api.status import (
    AnalysisResult,
    ConditionStatus,
    ModelDeploymentStatus,
    ValidationResult,
    Verdict,
    truncate,
)
from modeldeploy.controller.edge import EdgeVersions, sync_edge_version
from modeldeploy.controller.messages import (
    backend_condition,
    invalid_spec_message,
    policy_message,
    with_condition,
)
from modeldeploy.controller.platform_handoff import resolved_spec
from modeldeploy.controller.registration import Registrations
from modeldeploy.controller.retraining import record_delivery, retry_wait
from modeldeploy.controller.stages import STAGE_RETRY, sync_stages
from modeldeploy.controller.translate import desired_revision, plan_of
from modeldeploy.policy import TARGET_FIELDS, Refusal
from modeldeploy.ports import (
    AnalysisPending,
    AnalysisRunner,
    BackendError,
    BackendFactory,
    Body,
    Conflict,
    EventSink,
    Gone,
    ModelRegistrar,
    ModelRegistry,
    Owner,
    RegistrationRefused,
    Retrainer,
    RevisionRequest,
    RevisionValidator,
    StatusStore,
)
from modeldeploy.rollout import Inputs, decide, names_to_observe
from modeldeploy.rollout.actions import (
    DeleteRevision,
    EmitEvent,
    EnsureRevision,
    EventType,
    FireRetraining,
    RequeueAfter,
    RunAnalysis,
    SetTraffic,
    SyncStages,
    ValidateRevision,
)
from modeldeploy.rollout.serving import Readiness, RevisionState, TrafficSplit

log = logging.getLogger(__name__)

SPEC_CONDITION = "SpecValid"
# A decision may ask for analysis; the result is fed straight back, so a reconcile takes at most a few passes.
MAX_PASSES = 4
# What changes the world outside the status: done only on a view of the object known to be current.
MUTATING = (SetTraffic, EnsureRevision, DeleteRevision, FireRetraining, SyncStages)
RETRY_BACKOFF = (5.0, 10.0, 30.0, 60.0)
POLICY_REASON = "PolicyDenied"


class PolicyLike(Protocol):
    def refusals(self, namespace: str, name: str, spec: ModelDeploymentSpec) -> list[Refusal]: ...


class NotifierLike(Protocol):
    def notify(self, owner: Owner, spec: ModelDeploymentSpec, event: EmitEvent, now: datetime) -> int: ...


def owner_of(body: Body, namespace_labels: Mapping[str, str] | None = None) -> Owner:
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    model = str(((body.get("spec") or {}).get("model") or {}).get("name") or name)
    tags = platform.cost_tags(model, namespace, name, namespace_labels)
    return Owner(namespace=namespace, name=name, uid=meta["uid"], cost_tags=tuple(sorted(tags.items())))


@dataclass
class Outcome:
    status: ModelDeploymentStatus
    requeue_after: float | None
    resource_version: str
    error: BackendError | None = None
    actions_run: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(
        self,
        backends: BackendFactory,
        store: StatusStore,
        events: EventSink,
        analysis: AnalysisRunner,
        retraining: Retrainer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        policy: PolicyLike | None = None,
        notifier: NotifierLike | None = None,
        namespace_labels: Callable[[str], Mapping[str, str]] | None = None,
        validator: RevisionValidator | None = None,
        registry: ModelRegistry | None = None,
        registrar: ModelRegistrar | None = None,
        handoff: Callable[[], Handoff | None] | None = None,
        edge: EdgeVersions | None = None,
        batch: Callable[[Owner, ModelDeploymentSpec, int, Outcome], None] | None = None,
    ) -> None:
        """``policy``: asked before anything else; what it refuses stops the object before any I/O.
        ``namespace_labels``: a namespace's labels (from a watch), for the cost tags of Azure resources.
        ``handoff``: the platform's handoff (cached), whose values fill what an Azure ML target leaves out."""
        self.policy = policy
        self.handoff = handoff
        self.edge = edge  # the promoted version into API Management's named value (controller/edge.py)
        self.notifier = notifier  # queues and returns at once: never a receiver's latency here
        self._namespace_labels = namespace_labels
        self.validator = validator
        self.registry = registry
        self.registrations = Registrations(registrar)
        self.batch = batch  # runs spec.batch objects (controller/batch.py)
        self.backends = backends
        self.store = store
        self.events = events
        self.analysis = analysis
        self._pending: dict[str, float] = {}  # uid -> seconds until a running analysis job is polled
        self.retraining = retraining
        self.clock = clock
        self._failures: dict[str, int] = {}

    def _owner(self, body: Body) -> Owner:
        labels = self._namespace_labels(body["metadata"]["namespace"]) if self._namespace_labels else None
        return owner_of(body, labels)

    def reconcile(self, body: Body) -> Outcome:
        owner = self._owner(body)
        meta = body["metadata"]
        rv: str = meta["resourceVersion"]
        generation = int(meta.get("generation", 1))
        previous = ModelDeploymentStatus.model_validate(body.get("status") or {})
        # An object stored before the CRD carried the rule (or on a cluster without it) is refused here.
        name_problem = object_name_problem(owner.name)
        if name_problem is not None:
            return self._invalid(owner, rv, generation, previous, name_problem)
        try:
            spec, pins = self._spec_of(owner, body, previous)
        except PlatformDefaultsError as exc:
            return self._invalid(owner, rv, generation, previous, str(exc))
        except ValidationError as exc:
            return self._invalid(owner, rv, generation, previous, invalid_spec_message(exc))
        refusals = self.policy.refusals(owner.namespace, owner.name, spec) if self.policy else []
        if refusals:
            # Nothing but this object's own status and an Event: no backend, no data, no metric query.
            message = policy_message(refusals)
            return self._spec_false(owner, rv, generation, previous, POLICY_REASON, message)

        outcome = Outcome(previous, None, rv)
        try:
            if pins != (previous.platform_defaults or {}):  # pinned before anything acts where they point
                self._write(owner, outcome, previous.model_copy(update={"platform_defaults": pins}))
            try:
                (self.batch if spec.batch and self.batch else self._run)(owner, spec, generation, outcome)
                self._sync_edge(owner, spec, outcome)
            except RegistrationRefused as exc:
                return self._spec_false(owner, rv, generation, previous, exc.reason, exc.message)
            except (BackendError, Conflict, Gone):
                raise
            except Exception as exc:
                # A bug or an input no check foresaw: before, the worker logged it and retried with no
                # trace on the object. Now it is a condition and an Event like any backend failure.
                log.exception("reconcile of %s/%s failed", owner.namespace, owner.name)
                raise BackendError("ReconcileError", f"{type(exc).__name__}: {exc}") from exc
            self._failures.pop(owner.uid, None)
        except BackendError as err:
            outcome.error = err
            n = self._failures[owner.uid] = self._failures.get(owner.uid, 0) + 1
            log.warning("backend error for %s/%s: %s", owner.namespace, owner.name, err)
            self.events.emit(owner, EventType.WARNING, err.reason, err.message)
            backoff = RETRY_BACKOFF[min(n, len(RETRY_BACKOFF)) - 1]
            outcome.requeue_after = backoff if err.retryable else None
        self._record_backend_condition(owner, generation, outcome)
        return outcome

    @staticmethod
    def needs_finalizer(body: Body) -> bool:
        """Only what the garbage collector cannot see needs the operator at deletion: Azure resources.
        Kubernetes children carry owner references and go with their ModelDeployment by themselves (a
        finalizer there cost two writes per object and made deleting a thousand take a minute)."""
        target = ((body.get("spec") or {}).get("target") or {}).get("type")
        return target in ("azureml", "serverless")  # a serverless target's route table is in Azure too

    def finalize(self, body: Body) -> None:
        """The object is being deleted: remove everything created for it, including Azure resources the
        garbage collector cannot see. Raises BackendError (retried) while that fails."""
        owner = self._owner(body)
        try:
            spec, _ = self._spec_of(
                owner, body, ModelDeploymentStatus.model_validate(body.get("status") or {})
            )
        except (ValidationError, PlatformDefaultsError):
            log.warning(
                "deleting %s/%s with an invalid spec: nothing was created for it", owner.namespace, owner.name
            )
            return
        refused = self.policy.refusals(owner.namespace, owner.name, spec) if self.policy else []
        target = [r for r in refused if r.field in TARGET_FIELDS]
        if target:
            # The workspace is no longer granted to this namespace: the operator's identity does not act
            # there on this object's behalf, even to clean up; the platform team removes what is left.
            self.events.emit(
                owner,
                EventType.WARNING,
                "CleanupSkipped",
                f"{target[0]}; Azure resources were left as they are",
            )
            return
        try:
            self.backends(owner, spec).delete_all(owner)
        except BackendError as err:
            self.events.emit(owner, EventType.WARNING, "CleanupFailed", str(err))
            raise
        self.forget(owner.uid)

    def _spec_of(
        self, owner: Owner, body: Body, status: ModelDeploymentStatus
    ) -> tuple[ModelDeploymentSpec, dict[str, str]]:
        return resolved_spec(self.handoff, owner.namespace, owner.name, body, status.platform_defaults)

    def forget(self, uid: str) -> None:
        """Release per-object state (the object is gone)."""
        self._failures.pop(uid, None)
        self.analysis.forget(uid)
        self.registrations.forget(uid)

    # ---- the passes ---------------------------------------------------------------------------------------

    def _run(self, owner: Owner, spec: ModelDeploymentSpec, generation: int, outcome: Outcome) -> None:
        spec = self.registrations.served_spec(owner, spec)  # model.registration: serve the registered version
        backend = self.backends(owner, spec)
        desired = desired_revision(owner.name, spec)
        plan = plan_of(spec)
        observed: dict[str, RevisionState] = {
            n: backend.revision_state(owner, n) for n in names_to_observe(outcome.status, desired)
        }
        traffic: TrafficSplit | None = backend.observed_traffic(owner)
        analysis: AnalysisResult | None = None
        validation: ValidationResult | None = None
        confirmed = False  # this reconcile's view of the object is known current (a write or a read)
        for _ in range(MAX_PASSES):
            now = self.clock()
            seen = dict(observed)
            decision = decide(
                Inputs(generation, desired, plan, outcome.status, now, seen, traffic, analysis, validation)
            )
            status = with_condition(
                decision.status, SPEC_CONDITION, ConditionStatus.TRUE, "Valid", "", generation, now
            )
            if status != outcome.status:
                outcome.resource_version = self.store.write_status(
                    owner, outcome.resource_version, status, outcome.status
                )
                outcome.status = status
                confirmed = True
            if not confirmed and any(isinstance(a, MUTATING) for a in decision.actions):
                self.store.confirm_current(owner, outcome.resource_version)
                confirmed = True
            analysis = validation = None
            retired = False  # a deleted revision leaves status.retiredRevisions next pass, not at resync
            outcome.requeue_after = None
            stages_failed = False
            for action in decision.actions:
                outcome.actions_run.append(type(action).__name__)
                match action:
                    case SetTraffic(split=split):
                        backend.set_traffic(owner, split)
                        traffic = split
                    case EnsureRevision(name=name):
                        observed[name] = backend.ensure_revision(owner, RevisionRequest(name, spec))
                    case DeleteRevision(name=name, not_before=not_before):
                        if now >= not_before:
                            backend.delete_revision(owner, name)
                            observed[name], retired = RevisionState(name, Readiness.MISSING), True
                    case ValidateRevision():
                        validation = self._validate(owner, spec, action, now)
                    case RunAnalysis():
                        analysis = self._analyse(owner, spec, action, now)
                    case SyncStages():
                        synced = sync_stages(
                            self.registry, self.events, owner, spec, action, now, outcome.status
                        )
                        stages_failed = synced is None
                        if synced is not None:
                            self._write(owner, outcome, synced)
                    case FireRetraining():
                        self._retrain(owner, spec, action, now, outcome)
                    case EmitEvent(type=type_, reason=reason, message=message, notices=notices):
                        self.events.emit(owner, type_, reason, message)
                        if notices and self.notifier is not None:
                            self.notifier.notify(owner, spec, action, now)
                    case RequeueAfter(seconds=seconds):
                        outcome.requeue_after = seconds
            wait = retry_wait(outcome.status, now)
            held = self._pending.pop(owner.uid, None)  # an analysis job still runs: poll it then, not wait
            wait = held if wait is None else min(wait, held or wait)
            if wait is not None:
                outcome.requeue_after = (
                    wait if outcome.requeue_after is None else min(outcome.requeue_after, wait)
                )
            if stages_failed:
                outcome.requeue_after = min(outcome.requeue_after or STAGE_RETRY, STAGE_RETRY)
            if analysis is None and validation is None and not retired:
                return

    def _retrain(
        self, owner: Owner, spec: ModelDeploymentSpec, action: FireRetraining, now: datetime, outcome: Outcome
    ) -> None:
        status = record_delivery(self.retraining, self.events, owner, spec, action, now, outcome.status)
        if status is not None:
            self._write(owner, outcome, status)

    def _analyse(
        self, owner: Owner, spec: ModelDeploymentSpec, run: RunAnalysis, now: datetime
    ) -> AnalysisResult | None:
        """The analysis of ``run``; one that raises is an Error result the machine reports (a condition and
        an Event) and limits, never an exception that retries the whole reconcile forever. None while a job
        computes it (``AnalysisPending``): the machine gets no result, the object is requeued to poll."""
        try:
            return self.analysis.run(owner, spec, run, now)
        except AnalysisPending as pending:
            self._pending[owner.uid] = pending.retry_after
            return None
        except Exception as exc:
            log.warning("analysis of %s failed", run.revision, exc_info=True)
            return AnalysisResult(
                revision=run.revision,
                step_index=run.step_index,
                time=now,
                verdict=Verdict.ERROR,
                message=truncate(f"analysis failed: {type(exc).__name__}: {exc}"),
            )

    def _write(self, owner: Owner, outcome: Outcome, status: ModelDeploymentStatus) -> None:
        outcome.resource_version = self.store.write_status(
            owner, outcome.resource_version, status, outcome.status
        )
        outcome.status = status

    def _validate(
        self, owner: Owner, spec: ModelDeploymentSpec, run: ValidateRevision, now: datetime
    ) -> ValidationResult:
        """Like ``_analyse``: a validator that raises gives an Error verdict the machine limits."""
        try:
            if self.validator is None:
                raise RuntimeError("this operator has no validator")
            return self.validator.validate(owner, spec, run, now)
        except Exception as exc:
            message = truncate(f"validation failed to run: {type(exc).__name__}: {exc}")
            return ValidationResult(revision=run.revision, time=now, verdict=Verdict.ERROR, message=message)

    # ---- conditions the machine does not own ------------------------------------------------------------

    def _invalid(
        self, owner: Owner, rv: str, generation: int, previous: ModelDeploymentStatus, message: str
    ) -> Outcome:
        return self._spec_false(owner, rv, generation, previous, "InvalidSpec", message)

    def _spec_false(
        self,
        owner: Owner,
        rv: str,
        generation: int,
        previous: ModelDeploymentStatus,
        reason: str,
        message: str,
    ) -> Outcome:
        now = self.clock()
        status = with_condition(
            previous, SPEC_CONDITION, ConditionStatus.FALSE, reason, message, generation, now
        )
        status = status.model_copy(update={"observed_generation": generation})
        if status != previous:
            rv = self.store.write_status(owner, rv, status, previous)
            self.events.emit(owner, EventType.WARNING, reason, message)
        return Outcome(status, None, rv)

    def _record_backend_condition(self, owner: Owner, generation: int, outcome: Outcome) -> None:
        status = backend_condition(outcome.status, outcome.error, generation, self.clock())
        if status != outcome.status:
            self._write(owner, outcome, status)

    def _sync_edge(self, owner: Owner, spec: ModelDeploymentSpec, outcome: Outcome) -> None:
        handoff = self.handoff() if self.edge and self.handoff and spec.target.azureml else None
        status, retry = sync_edge_version(self.edge, handoff, self.events, owner, spec, outcome.status)
        if status is not None:
            self._write(owner, outcome, status)
        if retry is not None:
            outcome.requeue_after = min(outcome.requeue_after or retry, retry)
