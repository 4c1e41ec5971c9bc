"""When to go back to stable, and what to start when drift is confirmed."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from . import patterns
from .base import ApiModel, cel
from .duration import Bounds, Duration

_InputValue = Annotated[str, Field(max_length=2048)]


class PipelineRetrain(ApiModel):
    """Submit an Azure ML pipeline job from a registered pipeline component."""

    component: str = Field(
        pattern=patterns.COMPONENT_REF,
        max_length=512,
        description="azureml:name:version or azureml://registries/<registry>/components/<name>/versions/<v>",
    )
    experiment_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$", max_length=255)
    compute: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$", max_length=32)
    inputs: dict[Annotated[str, Field(max_length=128)], _InputValue] = Field(
        default_factory=dict, max_length=32
    )


class EventRetrain(ApiModel):
    """POST a CloudEvent (structured JSON) to a webhook or an Event Grid topic endpoint."""

    url: str = Field(pattern=r"^https://[^\t\n\f\r ]+$", max_length=2048)
    event_type: str = Field("io.kdap.mlops.drift.confirmed", pattern=r"^[A-Za-z0-9.-]+$", max_length=253)
    secret_ref: str | None = Field(
        None,
        pattern=patterns.DNS_SUBDOMAIN,
        max_length=253,
        description="A Secret in the namespace whose 'token' key is sent as a bearer token.",
    )


class Retrain(ApiModel):
    type: Literal["azuremlPipeline", "event"]
    azureml_pipeline: PipelineRetrain | None = None
    event: EventRetrain | None = None
    cooldown: Annotated[Duration, Bounds("rollback.retrain.cooldown", "0s", "720h")] = Field(
        "24h",
        description="At most one trigger per cooldown, however often drift recurs; a drift confirmed "
        "inside it fires at the first analysis after it ends if it is still there.",
    )

    @cel(
        "(self.type == 'azuremlPipeline') == has(self.azuremlPipeline) && (self.type == 'event') == "
        "has(self.event)",
        "rollback.retrain.type names the one block to set: rollback.retrain.azuremlPipeline or "
        "rollback.retrain.event",
    )
    def _block_matches_type(self) -> bool:
        return (self.type == "azuremlPipeline") == (self.azureml_pipeline is not None) and (
            self.type == "event"
        ) == (self.event is not None)


class Rollback(ApiModel):
    on_drift: bool = Field(
        True,
        description="Roll back when analysis.drift confirms drift during a rollout; false: the candidate "
        "keeps its traffic and the rollout pauses (Warning event DriftDetected) for promote or abort.",
    )
    on_metric_failure: bool = Field(
        True,
        description="Roll back when analysis fails on a metric (past failureLimit); false: the candidate "
        "keeps its traffic and the rollout pauses (Warning event AnalysisFailed) for promote or abort.",
    )
    failure_limit: int = Field(
        0,
        ge=0,
        le=100,
        description="Failed analyses in a row tolerated before rolling back (an analysis fails when a "
        "metric is past its own failureLimit).",
    )
    retrain: Retrain | None = None
