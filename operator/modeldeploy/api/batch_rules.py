"""The rules a batch model's target sets (spec level: they read ``target`` and ``batch`` together).

A mixin of ``ModelDeploymentSpec``: ``ApiModel.cel_rules`` walks the class tree, so these reach the CRD and
the Python check like the spec's own, each once in CEL and once in Python with the same message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Self

from pydantic import model_validator

from .base import cel
from .target import ON_AZUREML

if TYPE_CHECKING:
    from .batch import BatchScoring
    from .target import Target


class BatchTargetRules:
    if TYPE_CHECKING:  # the spec's fields these rules read
        target: Target
        batch: BatchScoring | None

    @cel(
        "!has(self.batch) || self.target.type != 'serverless'",
        "spec.batch needs a kubernetes or azureml target: a serverless endpoint has no batch deployments",
        field_path=".batch",
    )
    def _batch_target(self) -> bool:
        return self.batch is None or self.target.type != "serverless"

    @cel(
        "!has(self.batch) || (self.target.type == 'azureml') == has(self.batch.compute)",
        "spec.batch.compute (the Azure ML compute cluster runs use) is required on an azureml target and "
        "not allowed on a kubernetes one",
        field_path=".batch",
    )
    def _batch_compute_on_azureml(self) -> bool:
        return self.batch is None or (self.target.type == "azureml") == (self.batch.compute is not None)

    @cel(
        f"!has(self.batch) || !({ON_AZUREML}) || self.target.azureml.endpointKind == 'managed'",
        "spec.batch on an azureml target needs target.azureml.endpointKind managed: a batch endpoint runs "
        "on batch.compute",
        field_path=".target.azureml.endpointKind",
    )
    def _batch_endpoint_managed(self) -> bool:
        azureml = self.target.azureml
        return self.batch is None or azureml is None or azureml.endpoint_kind == "managed"

    @model_validator(mode="after")
    def _online_azureml_is_sized(self) -> Self:
        # Python only: the CRD cannot require the field, because the operator fills it from the platform's
        # handoff before it builds the model; a spec that reaches here without it had neither.
        azureml = self.target.azureml
        if self.batch is None and azureml is not None and azureml.instance_type is None:
            raise ValueError(
                "target.azureml.instanceType is required for an online model: set it in the spec, or declare "
                "the model in the stack's kdap-platform:endpoints so the platform provides it"
            )
        return self

    @cel(
        f"!has(self.batch) || !({ON_AZUREML}) || !has(self.target.azureml.instanceType)",
        "target.azureml.instanceType sizes online deployments: a batch model's runs are sized by "
        "spec.batch.compute and spec.batch.instanceCount; remove it",
        field_path=".target.azureml.instanceType",
    )
    def _batch_takes_no_instance_type(self) -> bool:
        azureml = self.target.azureml
        return self.batch is None or azureml is None or azureml.instance_type is None

    @cel(
        f"!has(self.batch) || !({ON_AZUREML}) || self.batch.output.uri.startsWith('azureml://datastores/')",
        "spec.batch.output.uri must be an azureml://datastores/<name>/paths/... URI on an azureml target "
        "(the datastore Azure ML batch jobs write to)",
        field_path=".batch.output.uri",
    )
    def _batch_output_on_datastore(self) -> bool:
        if self.batch is None or self.target.azureml is None:
            return True
        return self.batch.output.uri.startswith("azureml://datastores/")

    @cel(
        f"!has(self.batch) || !({ON_AZUREML}) || !has(self.batch.rollout) || has(self.batch.output.columns)",
        "spec.batch.output.columns is required for batch.rollout on an azureml target: Azure ML's append_row "
        "file has no header row, so the comparison needs the columns named",
        field_path=".batch.output",
    )
    def _azureml_rollout_names_columns(self) -> bool:
        b = self.batch
        return b is None or self.target.azureml is None or b.rollout is None or b.output.columns is not None

    @cel(
        f"!has(self.batch) || !({ON_AZUREML}) || !has(self.batch.dataArrival) || "
        "(self.batch.dataArrival.uri.startsWith('azureml://datastores/') && "
        "!self.batch.dataArrival.uri.matches('[*?\\\\[]'))",
        "spec.batch.dataArrival.uri on an azureml target must be a folder azureml://datastores/<name>/paths/"
        "<folder>/ without wildcards: each new file in it is scored by its own batch job",
        field_path=".batch.dataArrival.uri",
    )
    def _arrival_folder_on_azureml(self) -> bool:
        b = self.batch
        if b is None or self.target.azureml is None or b.data_arrival is None:
            return True
        uri = b.data_arrival.uri
        return uri.startswith("azureml://datastores/") and re.search(r"[*?\[]", uri) is None

    @cel(
        "!has(self.batch) || self.target.type == 'azureml' || "
        "self.batch.schedules.all(s, !has(s.recurrence))",
        "spec.batch.schedules[].recurrence needs an azureml target: a CronJob takes cron only",
        field_path=".batch.schedules",
    )
    def _recurrence_on_azureml(self) -> bool:
        b = self.batch
        return b is None or self.target.type == "azureml" or all(s.recurrence is None for s in b.schedules)
