"""Submit the retraining pipeline with azure-ai-ml (DefaultAzureCredential: workload identity in AKS)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modeldeploy.api.spec import ModelDeploymentSpec, PipelineRetrain
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.actions import FireRetraining


def _component_ref(ref: str) -> tuple[str, str]:
    # azureml:name:version
    parts = ref.split(":")
    if len(parts) == 3 and parts[0] == "azureml":
        return parts[1], parts[2]
    raise BackendError(
        "RetrainingComponentInvalid",
        f"rollback.retrain.azuremlPipeline.component {ref!r}: use azureml:name:version",
        False,
    )


_PRIMITIVE = ("string", "integer", "number", "boolean")
_REMOTE = re.compile(r"^(azureml:|azureml://|https://|abfss://|wasbs://|runs:/|models:/)")


def _check_inputs(declared: Mapping[str, Any], inputs: Mapping[str, str]) -> None:
    """azure-ai-ml makes a data input's string an ``Input(path=...)`` and uploads it from this process's
    filesystem unless it is a URI or an asset: only those are passed (the policy check granted them)."""
    for key, value in inputs.items():
        kind = str(getattr(declared.get(key), "type", "string"))
        if kind not in _PRIMITIVE and not _REMOTE.match(value):
            raise BackendError(
                "RetrainingInputInvalid",
                f"rollback.retrain.azuremlPipeline.inputs.{key}: the component's {kind} input needs a data "
                "URI or an Azure ML asset (azureml:, azureml://, https://, abfss://, wasbs://, runs:/, "
                f"models:/); {value!r} would be uploaded from the operator's filesystem",
                False,
            )


def submit_pipeline(
    owner: Owner, spec: ModelDeploymentSpec, request: FireRetraining, job: PipelineRetrain
) -> str:
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    target = spec.target.azureml
    if target is None:
        raise BackendError(
            "RetrainingWorkspaceUnknown",
            "rollback.retrain.azuremlPipeline needs an azureml target (for the workspace): "
            "use rollback.retrain.event on kubernetes targets",
            False,
        )
    ml = MLClient(DefaultAzureCredential(), target.subscription_id, target.resource_group, target.workspace)
    name, version = _component_ref(job.component)
    component = ml.components.get(name=name, version=version)
    _check_inputs(getattr(component, "inputs", None) or {}, job.inputs)
    node = component(**job.inputs)
    if job.compute:
        node.compute = job.compute
    node.tags = {"modeldeploy/deployment": owner.name, "modeldeploy/driftId": request.drift_id}
    created = ml.jobs.create_or_update(node, experiment_name=job.experiment_name)
    return f"Azure ML job {created.name}"
