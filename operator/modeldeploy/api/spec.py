"""``ModelDeployment.spec``: the whole desired state of one served model, and the rules that bind its parts.

Parts live in their own modules (target, model, strategy, analysis, scaling, rollback); this module joins
them, holds the rules that span parts, and re-exports every model so callers import from one place.
"""

from __future__ import annotations

from pydantic import Field

from .analysis import (
    Analysis,
    CategoricalFeature,
    DataRef,
    Drift,
    LiveData,
    Metric,
    NumericalFeature,
    PredictionDrift,
)
from .base import ApiModel, CelRule, cel
from .batch import BatchScoring
from .batch_rules import BatchTargetRules
from .duration import Duration, format_duration, parse_duration
from .model import Environment, ModelSource, ScoringCode
from .notifications import Subscription
from .rollback import EventRetrain, PipelineRetrain, Retrain, Rollback
from .scaling import Autoscaling, ScheduledWindow
from .serverless import ApiGateway, ServerlessTarget
from .strategy import (
    BlueGreen,
    Canary,
    CanaryStep,
    ErrorRateComparison,
    LatencyComparison,
    Pause,
    PredictionComparison,
    Shadow,
    ShadowComparison,
    Strategy,
)
from .target import (
    ON_AZUREML,
    AzureMLTarget,
    EnvVar,
    HttpProbe,
    KubernetesTarget,
    LivenessProbe,
    ParentRef,
    Probe,
    RequestSettings,
    Resources,
    SecretKeyRef,
    Target,
)
from .validation import ResponseCheck, SampleRequest, Validation

__all__ = [
    "Analysis",
    "ApiGateway",
    "Autoscaling",
    "AzureMLTarget",
    "BatchScoring",
    "BlueGreen",
    "Canary",
    "CanaryStep",
    "CategoricalFeature",
    "CelRule",
    "DataRef",
    "Drift",
    "Duration",
    "EnvVar",
    "Environment",
    "ErrorRateComparison",
    "EventRetrain",
    "HttpProbe",
    "KubernetesTarget",
    "LatencyComparison",
    "LiveData",
    "LivenessProbe",
    "Metric",
    "ModelDeploymentSpec",
    "ModelSource",
    "NumericalFeature",
    "ParentRef",
    "Pause",
    "PipelineRetrain",
    "PredictionComparison",
    "PredictionDrift",
    "Probe",
    "RequestSettings",
    "Resources",
    "ResponseCheck",
    "Retrain",
    "Rollback",
    "SampleRequest",
    "ScheduledWindow",
    "ScoringCode",
    "SecretKeyRef",
    "ServerlessTarget",
    "Shadow",
    "ShadowComparison",
    "Strategy",
    "Target",
    "Validation",
    "format_duration",
    "parse_duration",
]

MAX_HPA_SCALE_IN = "1h"
# Every child carries the ModelDeployment's name as a label value (at most 63 characters); revision names,
# Azure ML deployment names and HTTPRoutes are derived so as to fit once the object name does.
MAX_OBJECT_NAME = 63
OBJECT_NAME_MESSAGE = (
    f"metadata.name must be at most {MAX_OBJECT_NAME} characters: it is the mlops.kdap.io/deployment label "
    "value on every child the operator creates"
)


def object_name_problem(name: str) -> str | None:
    """The Python twin of the CRD's root rule on metadata.name (None: the name fits)."""
    return OBJECT_NAME_MESSAGE if len(name) > MAX_OBJECT_NAME else None


class ModelDeploymentSpec(BatchTargetRules, ApiModel):
    """One model served behind one stable address, rolled out by ``strategy`` and guarded by ``analysis``."""

    target: Target
    model: ModelSource
    strategy: Strategy | None = Field(None, description="How an online model's new revision takes traffic.")
    batch: BatchScoring | None = Field(
        None, description="A batch model: runs on triggers, new revisions compared on a validation input."
    )
    autoscaling: Autoscaling | None = None
    analysis: Analysis | None = None
    rollback: Rollback = Field(default_factory=Rollback)
    notifications: list[Subscription] = Field(
        default_factory=list,
        max_length=8,
        description="Who is told which rollout transitions (besides the ModelDeploymentPolicy's defaults).",
    )
    validation: Validation | None = None

    @cel(
        f"!({ON_AZUREML}) || !has(self.strategy) || !has(self.strategy.shadow) || "
        "self.strategy.shadow.mirrorPercent <= 50",
        "strategy.shadow.mirrorPercent must be at most 50 on an azureml target (Azure ML's mirror limit)",
        field_path=".strategy.shadow.mirrorPercent",
    )
    def _azureml_mirror_limit(self) -> bool:
        shadow, azureml = self.strategy.shadow if self.strategy else None, self.target.azureml
        return azureml is None or shadow is None or shadow.mirror_percent <= 50

    @cel(
        f"!({ON_AZUREML}) || self.target.azureml.endpointKind != 'kubernetes' || !has(self.strategy) || "
        "self.strategy.type != 'shadow'",
        "strategy.type shadow is not possible on target.azureml.endpointKind kubernetes (Azure ML cannot "
        "mirror there): use canary or blueGreen",
        field_path=".strategy.type",
    )
    def _no_mirror_on_aml_kubernetes(self) -> bool:
        azureml = self.target.azureml
        if azureml is None or azureml.endpoint_kind != "kubernetes" or self.strategy is None:
            return True
        return self.strategy.type != "shadow"

    @cel(
        f"!({ON_AZUREML}) || self.model.framework == 'mlflow' || (has(self.model.code) && "
        f"has(self.model.environment))",
        "model.code and model.environment are required on an azureml target unless model.framework is mlflow",
        field_path=".model",
    )
    def _azureml_needs_code_and_env(self) -> bool:
        if self.target.azureml is None or self.model.framework == "mlflow":
            return True
        return self.model.code is not None and self.model.environment is not None

    @cel(
        "self.target.type != 'kubernetes' || !has(self.model.environment) || "
        "!has(self.model.environment.azureml)",
        "model.environment.azureml cannot run on a kubernetes target: set target.kubernetes.image instead",
        field_path=".model.environment",
    )
    def _kubernetes_needs_image(self) -> bool:
        env = self.model.environment
        return self.target.type != "kubernetes" or env is None or env.azureml is None

    @cel(
        "!(has(self.strategy) && self.strategy.type == 'canary' && has(self.strategy.canary) && "
        "self.strategy.canary.steps.exists(s, s.analysis)) || has(self.analysis)",
        "strategy.canary.steps[].analysis is true but spec.analysis is missing: add analysis.metrics or "
        "analysis.drift",
        field_path=".analysis",
    )
    def _canary_analysis_defined(self) -> bool:
        canary = self.strategy.canary if self.strategy else None
        return canary is None or not any(s.analysis for s in canary.steps) or self.analysis is not None

    @cel(
        "!(has(self.strategy) && self.strategy.type == 'blueGreen' && has(self.strategy.blueGreen) && "
        "self.strategy.blueGreen.analysis) || has(self.analysis)",
        "strategy.blueGreen.analysis is true but spec.analysis is missing: add analysis or set "
        "blueGreen.analysis false",
        field_path=".analysis",
    )
    def _blue_green_analysis_defined(self) -> bool:
        bg = self.strategy.blue_green if self.strategy else None
        return bg is None or not bg.analysis or self.analysis is not None

    @cel(
        "self.target.type != 'kubernetes' || !has(self.autoscaling) || "
        f"duration(self.autoscaling.scaleInDelay) <= duration('{MAX_HPA_SCALE_IN}')",
        f"autoscaling.scaleInDelay must be at most {MAX_HPA_SCALE_IN} on a kubernetes target (the "
        "HorizontalPodAutoscaler's longest stabilization window)",
        field_path=".autoscaling.scaleInDelay",
    )
    def _hpa_scale_in_limit(self) -> bool:
        a = self.autoscaling
        limit = parse_duration(MAX_HPA_SCALE_IN)
        return self.target.type != "kubernetes" or a is None or parse_duration(a.scale_in_delay) <= limit

    @cel(
        "!has(self.rollback.retrain) || (has(self.analysis) && has(self.analysis.drift))",
        "rollback.retrain fires on confirmed drift, so analysis.drift must be set",
        field_path=".rollback.retrain",
    )
    def _retrain_needs_drift(self) -> bool:
        return self.rollback.retrain is None or (
            self.analysis is not None and self.analysis.drift is not None
        )

    @cel(
        "!has(self.analysis) || self.target.type == 'azureml' || self.analysis.metrics.all(m, m.provider "
        "!= 'azureMonitor' || !has(m.builtin))",
        "analysis.metrics[].builtin with provider azureMonitor reads Azure ML endpoint metrics: use "
        "provider prometheus on a kubernetes target",
        field_path=".analysis.metrics",
    )
    def _builtin_provider_fits_target(self) -> bool:
        if self.analysis is None or self.target.type == "azureml":
            return True
        return all(m.provider != "azureMonitor" or m.builtin is None for m in self.analysis.metrics)

    @cel(
        "!has(self.analysis) || self.target.type != 'kubernetes' || self.analysis.metrics.all(m, m.provider "
        "!= 'logAnalytics')",
        "analysis.metrics[] with provider logAnalytics query the target's Log Analytics workspace: a "
        "kubernetes target has none (use provider prometheus)",
        field_path=".analysis.metrics",
    )
    def _log_analytics_needs_an_azure_target(self) -> bool:
        if self.analysis is None or self.target.type != "kubernetes":
            return True
        return all(m.provider != "logAnalytics" for m in self.analysis.metrics)

    @cel(
        "!self.model.tagStages || self.target.type == 'azureml' || self.target.type == 'serverless'",
        "model.tagStages needs an azureml or serverless target (its workspace holds the model or reaches its "
        "registry)",
        field_path=".model.tagStages",
    )
    def _stages_need_azureml(self) -> bool:
        return not self.model.tag_stages or self.target.type in ("azureml", "serverless")

    @cel(
        "!has(self.model.registration) || self.target.type == 'azureml'",
        "model.registration needs an azureml target (its workspace, or the registry it names, holds the "
        "model)",
        field_path=".model.registration",
    )
    def _register_needs_azureml(self) -> bool:
        return self.model.registration is None or self.target.type == "azureml"

    @cel(
        "self.target.type != 'serverless' || has(self.model.registry)",
        "model.registry is required on a serverless target: it names the adapter version the gateway routes "
        "to (azureml:name:version or azureml://registries/<r>/models/<name>/versions/<v>)",
        field_path=".model.registry",
    )
    def _serverless_needs_registry(self) -> bool:
        return self.target.type != "serverless" or self.model.registry is not None

    @cel(
        "self.target.type != 'serverless' || (!has(self.model.code) && !has(self.model.environment) && "
        "!has(self.autoscaling) && !has(self.validation))",
        "model.code, model.environment, autoscaling and validation do not apply to a serverless target (the "
        "endpoint's base model serves the adapter, the service scales per token, and a version is reached "
        "only through the gateway's split): remove them",
        field_path=".target.serverless",
    )
    def _serverless_has_no_deployment_settings(self) -> bool:
        if self.target.type != "serverless":
            return True
        model, extras = self.model, (self.autoscaling, self.validation)
        return model.code is None and model.environment is None and extras == (None, None)

    @cel(
        "self.target.type != 'serverless' || !has(self.strategy) || self.strategy.type != 'shadow'",
        "strategy.type shadow is not available on a serverless target: its comparisons read online-endpoint "
        "series the gateway does not export; use canary or blueGreen with analysis on the gateway's series",
        field_path=".strategy.type",
    )
    def _serverless_no_shadow(self) -> bool:
        strategy = self.strategy
        return self.target.type != "serverless" or strategy is None or strategy.type != "shadow"

    @cel(
        "self.target.type != 'serverless' || !has(self.analysis) || self.analysis.metrics.all(m, "
        "(m.provider == 'prometheus' || m.provider == 'logAnalytics') && has(m.query))",
        "analysis.metrics[] on a serverless target need provider prometheus or logAnalytics and a query: the "
        "built-ins read online-endpoint metrics a serverless endpoint does not have (select the gateway's "
        "series by $revision or $adapter, or name a logAnalytics LLM query)",
        field_path=".analysis.metrics",
    )
    def _serverless_metrics_are_queries(self) -> bool:
        if self.target.type != "serverless" or self.analysis is None:
            return True
        return all(
            m.provider in ("prometheus", "logAnalytics") and m.query is not None
            for m in self.analysis.metrics
        )

    @cel(
        "has(self.strategy) != has(self.batch)",
        "spec.strategy (an online model) or spec.batch (a batch model) must be set, exactly one of them",
        field_path=".strategy",
    )
    def _online_or_batch(self) -> bool:
        return (self.strategy is None) != (self.batch is None)

    @cel(
        "!has(self.batch) || (!has(self.autoscaling) && !has(self.analysis) && !has(self.validation))",
        "spec.batch takes no autoscaling, analysis or validation: a batch revision is checked by "
        "batch.rollout",
        field_path=".batch",
    )
    def _batch_alone(self) -> bool:
        return self.batch is None or (
            self.autoscaling is None and self.analysis is None and self.validation is None
        )

    @cel(
        "has(self.batch) || self.target.type != 'kubernetes' || !has(self.target.kubernetes) || "
        "has(self.target.kubernetes.gateway)",
        "target.kubernetes.gateway is required for an online model (the HTTPRoute's parent)",
        field_path=".target.kubernetes.gateway",
    )
    def _online_needs_gateway(self) -> bool:
        k = self.target.kubernetes
        return self.batch is not None or k is None or k.gateway is not None

    # -- helpers the operator uses ------------------------------------------------------------------------

    def canary_steps(self) -> list[CanaryStep]:
        """The steps to walk: the canary's, or one full switch for shadow and blue-green."""
        if self.strategy is not None and self.strategy.canary is not None:
            return list(self.strategy.canary.steps)
        return [CanaryStep(weight=100)]

    def replica_bounds(self) -> tuple[int, int]:
        """(min, max) replicas per revision: autoscaling's bounds, else the target's fixed count twice."""
        if self.autoscaling is not None:
            return self.autoscaling.min_replicas, self.autoscaling.max_replicas
        if self.target.azureml is not None:
            return self.target.azureml.instance_count, self.target.azureml.instance_count
        if self.target.serverless is not None:
            return 0, 0  # nothing to scale: the service bills per token
        assert self.target.kubernetes is not None  # Target guarantees one block
        return self.target.kubernetes.replicas, self.target.kubernetes.replicas

    def serving_fingerprint(self) -> dict[str, object]:
        """What a revision is made of: a change here cuts a new revision; strategy and analysis do not."""
        # tagStages and registration say how the registry is told, not what serves: editing them must not
        # cut a revision (nor may tagStages' default change the hash of revisions cut before it existed).
        model = {k: v for k, v in self.model.to_manifest().items() if k not in ("tagStages", "registration")}
        out: dict[str, object] = {"target": self.target.to_manifest(), "model": model}
        if self.batch is not None:
            # How a revision scores is part of it; when and on what it runs (triggers, inputs) is not.
            batch = self.batch.model_dump(
                mode="json", by_alias=True, include={"output", "mini_batch_size", "instance_count", "retries"}
            )
            if self.batch.compute is not None:  # only when set: kubernetes revisions keep their hashes
                batch["compute"] = self.batch.compute
            batch["output"].pop("columns", None)  # how outputs are read, not how the revision scores
            out["batch"] = batch
        return out
