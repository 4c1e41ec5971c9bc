"""The ModelDeployment status: everything a rollout must remember across operator restarts.

The rollout machines are pure: every field a decision depends on lives here; nothing else is remembered.

Every field is optional or defaulted (the apiserver keeps whatever was last written); no unions of objects.

Phases:

- ``Pending``: nothing serves yet (the first revision is being created or is not Ready).
- ``Progressing``: a candidate is taking traffic step by step, mirrored, or previewed.
- ``Paused``: a manual pause or a manual gate (a step without a duration) holds the rollout.
- ``Promoted``: the revision Git holds is stable and takes all traffic.
- ``RolledBack``: analysis failed; stable serves all traffic while Git still holds the failed revision.
- ``Degraded``: the candidate was aborted by hand; stable serves while Git holds the aborted revision.
- ``Failed``: nothing healthy to fall back to (a first revision that never became ready or failed analysis).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from .batch_status import BatchStatus

HISTORY_LIMIT = 20
FAILED_REVISIONS_LIMIT = 10
# Free text copied into status (analysis messages, parser and backend errors) is cut to this many
# characters with a marker: the status is read by everyone allowed to list the object, and a message that
# echoes a file, a column list or an HTTP body must neither leak it whole nor make the object huge.
MAX_STATUS_TEXT = 1024


def truncate(text: str, limit: int = MAX_STATUS_TEXT) -> str:
    """``text`` cut to ``limit`` characters, ending in a marker that says how much was left out."""
    if len(text) <= limit:
        return text
    cut = limit - 48
    return f"{text[:cut]} [... truncated {len(text) - cut} characters; limit {limit}]"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


_M = TypeVar("_M", bound=_Model)


class Phase(StrEnum):
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    DEGRADED = "Degraded"
    FAILED = "Failed"


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(_Model):
    """A Kubernetes-style condition; ``lastTransitionTime`` changes only when ``status`` does."""

    type: str
    status: ConditionStatus = ConditionStatus.UNKNOWN
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


class Verdict(StrEnum):
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"
    INSUFFICIENT_DATA = "InsufficientData"


class CheckResult(_Model):
    """One check of a pre-traffic validation: the health check or one sample request."""

    name: str
    verdict: Verdict = Verdict.INCONCLUSIVE
    message: str = ""


class ValidationResult(_Model):
    """The verdict of sending a Ready revision its health check and sample requests before any traffic.

    ``Error``: the revision could not be reached (retried up to ``validation.errorLimit``); ``Failed``: it
    answered wrongly; ``attempts`` counts the tries so far for this revision.
    """

    revision: str = ""
    time: datetime | None = None
    verdict: Verdict = Verdict.INCONCLUSIVE
    message: str = ""
    attempts: int = 0
    checks: list[CheckResult] = Field(default_factory=list)


class RevisionRecord(_Model):
    """One immutable serving revision: what it serves, when it was cut and when it became Ready.

    How a revision failed is kept in ``FailedRevision`` (it outlives the candidate). ``validation`` is the
    newest pre-traffic validation of it (kept once it becomes stable, for people reading the history).
    """

    name: str
    spec_hash: str
    model_version: str = ""
    created_at: datetime | None = None
    ready_at: datetime | None = None
    promoted_at: datetime | None = None
    # The registered model version it serves (azureml:name:version or a registry URI), when stages are
    # tagged (model.tagStages): kept here because the spec in Git moves on while the revision serves.
    model_ref: str | None = None
    validation: ValidationResult | None = None


class FailedRevision(_Model):
    """A spec hash that is not rolled out again until the spec changes or a retry is requested."""

    spec_hash: str
    name: str
    reason: str = ""
    message: str = ""
    failed_at: datetime | None = None
    model_version: str | None = None


class RetiredRevision(_Model):
    """A revision that lost its traffic: scaled down now, deleted once ``deleteAfter`` has passed."""

    name: str
    retired_at: datetime | None = None
    delete_after: datetime | None = None


class Traffic(_Model):
    """Live weights in percent per revision (summing to 100 when any) and at most one mirrored revision.

    ``candidateWeight`` repeats the candidate's live share as one number, for `kubectl get` columns.
    """

    weights: dict[str, int] = Field(default_factory=dict)
    mirror: str | None = None
    mirror_percent: int = 0
    candidate_weight: int = 0


class PauseReason(StrEnum):
    MANUAL = "Manual"  # `pause` requested; only `resume` (or promote/abort) ends it
    GATE = "Gate"  # a step without a duration waits for `promote`


class PauseState(_Model):
    reason: PauseReason
    since: datetime | None = None


class Comparison(_Model):
    """A metric's candidate against stable over the same window. ``effect`` is candidate minus stable on
    the test's scale (rates, means, or P(candidate larger) - 0.5 for mannWhitney), ``lower``/``upper`` its
    always-valid interval at ``alpha``; ``decision``: Pass, Fail, Continue (holds the step) or
    InsufficientData."""

    test: str
    stable: float | None = None
    candidate: float | None = None
    stable_samples: int = 0
    candidate_samples: int = 0
    effect: float | None = None
    lower: float | None = None
    upper: float | None = None
    p_value: float | None = None
    hypothesis: str = "nonInferiority"
    margin: float = 0.0
    alpha: float = 0.05
    decision: str = "InsufficientData"


class MetricResult(_Model):
    name: str
    value: float | None = None
    verdict: Verdict = Verdict.INCONCLUSIVE
    message: str = ""
    comparison: Comparison | None = None


class FeatureDrift(_Model):
    """One feature's drift test: ``pValue`` for hypothesis tests (KS, chi-squared), ``distance`` for PSI,
    Wasserstein or Jensen-Shannon; ``threshold`` is the bound the statistic was held to."""

    feature: str
    test: str
    test_chosen: str = Field(
        "", description="Why this test: set in the spec, or the engine's choice by type and reference size."
    )
    engine: str = Field(
        "",
        description="Which engine computed it and why: in-process, or a Spark job when a window is larger "
        "than the operator's pod limit.",
    )
    statistic: float | None = None
    p_value: float | None = None
    distance: float | None = None
    threshold: float | None = None
    verdict: Verdict = Verdict.INCONCLUSIVE
    message: str = Field("", description="Why it was not tested (too few values...), or what stands out.")


class AnalysisResult(_Model):
    """The verdict of one analysis run against one revision at one step.

    ``driftId`` names a *confirmed* drift (stable across repeated runs that see the same drift); retraining
    fires once per distinct id.
    """

    revision: str = ""
    step_index: int | None = None
    time: datetime | None = None
    verdict: Verdict = Verdict.INCONCLUSIVE
    message: str = ""
    metrics: list[MetricResult] = Field(default_factory=list)
    drift: list[FeatureDrift] = Field(default_factory=list)
    dataset_drift_share: float | None = None
    drift_detected: bool = False
    drift_id: str | None = None
    # The drift part's own verdict (None: no drift configured), so the machine can tell a drift that could
    # not be evaluated from a metric that had no data.
    drift_verdict: Verdict | None = None


class MetricTally(_Model):
    """One metric's failed and inconclusive measurements in the current step."""

    name: str
    failures: int = 0
    inconclusives: int = 0


class Counters(_Model):
    """Analysis outcomes for the current candidate and step; reset when the step or the candidate changes.

    ``metrics`` counts each metric's failed and inconclusive measurements in the step (as Argo Rollouts
    counts them in one analysis run: a success does not reset them; a list, not a map, so that a JSON merge
    patch replaces it whole instead of leaving a reset count behind);
    ``consecutiveDrifts`` counts drifted analyses in a row, for ``analysis.drift.confirmations``.
    """

    consecutive_failures: int = 0
    consecutive_inconclusives: int = 0
    consecutive_errors: int = 0
    consecutive_successes: int = 0
    consecutive_drifts: int = 0
    metrics: list[MetricTally] = Field(default_factory=list)


class ManualAction(StrEnum):
    PROMOTE = "promote"
    PROMOTE_FULL = "promote-full"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"


class ManualRequest(_Model):
    """Written by the CLI through the status subresource (GitOps tools do not own status); handled once."""

    action: ManualAction
    id: str
    requested_at: datetime | None = None


class RetrainingTrigger(_Model):
    """The last retraining fired, and which confirmed drift fired it.

    ``delivered`` is False from the decision to fire until the call succeeded; a failed call records
    ``attempts``, ``lastError`` and ``retryAt`` (backing off), and a trigger that failed with no ``retryAt``
    has been given up on. A trigger written before these fields existed counts as delivered.
    """

    drift_id: str
    revision: str = ""
    features: list[str] = Field(default_factory=list)
    fired_at: datetime | None = None
    delivered: bool = True
    attempts: int = 0
    last_error: str = ""
    retry_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether the call should be made (again) now."""
        if self.delivered:
            return False
        if self.attempts == 0:
            return True
        return self.retry_at is not None and self.retry_at <= now


class StagedVersion(_Model):
    """A registered model version with the stage this ModelDeployment gives it."""

    ref: str
    revision: str = ""
    since: datetime | None = None


class ModelStages(_Model):
    """Stages in the model registry: what serves production, what is under test (staging). As a status
    field it is the last state applied to the registry; the machine asks again whenever the state it
    derives from the status differs."""

    production: StagedVersion | None = None
    staging: StagedVersion | None = None


class HistoryEntry(_Model):
    time: datetime | None = None
    phase: Phase | None = None
    reason: str = ""
    message: str = ""
    revision: str = ""


class ModelDeploymentStatus(_Model):
    phase: Phase | None = None
    message: str = ""
    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    stable: RevisionRecord | None = None
    candidate: RevisionRecord | None = None
    traffic: Traffic = Field(default_factory=Traffic)
    current_step_index: int | None = None
    step_started_at: datetime | None = None
    pause: PauseState | None = None
    last_analysis: AnalysisResult | None = None
    counters: Counters = Field(default_factory=Counters)
    failed_revisions: list[FailedRevision] = Field(default_factory=list)
    retired_revisions: list[RetiredRevision] = Field(default_factory=list)
    request: ManualRequest | None = None
    last_handled_request_id: str | None = None
    last_handled_request_result: str = ""
    retraining: RetrainingTrigger | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    stages: ModelStages | None = None
    # The model version last written to API Management's named value (controller/edge.py).
    edge_version: str | None = None
    # Where an Azure ML or serverless target lives, pinned before the operator first acts (api/handoff.py): a
    # later change of the platform's handoff never moves this object. instanceType: the last used, for a
    # handoff outage. A serverless target's gateway fields are flat: gateway.resourceGroup, gateway.service.
    platform_defaults: dict[str, str] | None = None
    batch: BatchStatus | None = None

    def bounded(self) -> ModelDeploymentStatus:
        """This status with every free-text field cut by ``truncate`` (idempotent)."""

        def cut(model: _M, *fields: str) -> _M:
            updates = {
                f: truncate(getattr(model, f)) for f in fields if len(getattr(model, f)) > MAX_STATUS_TEXT
            }
            return model.model_copy(update=updates) if updates else model

        last = self.last_analysis
        if last is not None:
            last = cut(last, "message")
            last = last.model_copy(update={"metrics": [cut(m, "message") for m in last.metrics]})
            last = last.model_copy(update={"drift": [cut(d, "message") for d in last.drift]})

        def revision(r: RevisionRecord | None) -> RevisionRecord | None:
            if r is None or r.validation is None:
                return r
            v = cut(r.validation, "message")
            v = v.model_copy(update={"checks": [cut(c, "message") for c in v.checks]})
            return r.model_copy(update={"validation": v})

        return cut(self, "message", "last_handled_request_result").model_copy(
            update={
                "conditions": [cut(c, "message") for c in self.conditions],
                "failed_revisions": [cut(f, "message") for f in self.failed_revisions],
                "history": [cut(h, "message") for h in self.history],
                "retraining": cut(self.retraining, "last_error") if self.retraining else None,
                "last_analysis": last,
                "stable": revision(self.stable),
                "candidate": revision(self.candidate),
            }
        )

    def to_body(self) -> dict[str, object]:
        """The status as the apiserver wants it: camelCase keys, RFC 3339 times, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_merge_patch(self, previous: ModelDeploymentStatus | None = None) -> dict[str, object]:
        """A JSON merge patch that turns ``previous`` into this status.

        Unset fields become ``null`` so the apiserver clears them, and revisions that left
        ``traffic.weights`` are nulled too: a merge patch merges maps, so a plain body would leave a stale
        weight behind and the stored weights would no longer sum to 100.
        """
        body = self.model_dump(mode="json", by_alias=True)
        if previous is not None:
            weights = body["traffic"]["weights"]
            for gone in previous.traffic.weights.keys() - self.traffic.weights.keys():
                weights[gone] = None
        return body

    def is_failed(self, spec_hash: str) -> bool:
        return any(f.spec_hash == spec_hash for f in self.failed_revisions)
