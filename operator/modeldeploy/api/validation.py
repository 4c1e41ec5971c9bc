"""``spec.validation``: what a revision must answer before it gets any live traffic.

After a revision is Ready and before its first step, the operator sends it a health check and sample
requests and judges the answers: the HTTP status, and JSON paths in the body with a type and, for numbers,
a golden value with a tolerance. A revision that answers wrongly fails like a failed analysis, and the
stable revision's traffic never changes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from . import patterns
from .base import ApiModel, cel
from .duration import Bounds, Duration

# A small JSONPath subset: ``$`` then ``.key`` or ``[index]`` parts (keys of letters, digits, _ and -).
JSON_PATH = r"^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]{1,4}\])*$"
URL_PATH = r"^/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*(\?[A-Za-z0-9._~!$&'()*+,;=:@/%?-]*)?$"
MAX_BODY = 65536
MAX_REQUESTS = 20
MAX_CHECKS = 32

JsonType = Literal["number", "integer", "string", "boolean", "array", "object", "null"]


class ResponseCheck(ApiModel):
    """One JSON path in the response body: its type, and for a number a golden value with a tolerance."""

    path: str = Field(pattern=JSON_PATH, max_length=256, description="$.predictions[0] (a JSONPath subset)")
    type: JsonType | None = Field(None, description="The JSON type the value must have.")
    value: float | None = Field(None, description="Golden number the value must equal within tolerance.")
    tolerance: float | None = Field(None, ge=0, description="Absolute tolerance around value (default 0).")

    @cel(
        "!has(self.tolerance) || has(self.value)",
        "validation.requests[].expect[].tolerance needs value (the golden number it is a tolerance around)",
        field_path=".tolerance",
    )
    def _tolerance_needs_value(self) -> bool:
        return self.tolerance is None or self.value is not None

    @cel(
        "!has(self.value) || !has(self.type) || self.type == 'number' || self.type == 'integer'",
        "validation.requests[].expect[].value is a number: type must be number or integer when both are set",
        field_path=".type",
    )
    def _value_is_number(self) -> bool:
        return self.value is None or self.type is None or self.type in ("number", "integer")


class SampleRequest(ApiModel):
    """One request sent to the revision, and what its answer must look like."""

    name: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length=63)
    path: str | None = Field(
        None,
        pattern=URL_PATH,
        max_length=512,
        description="Request path; default the target's scoring path (/score).",
    )
    body: str = Field(
        max_length=MAX_BODY,
        description="The JSON document POSTed to the revision (a string, so any JSON shape fits the CRD).",
    )
    expect_status: int = Field(200, ge=100, le=599)
    expect: list[ResponseCheck] = Field(default_factory=list, max_length=MAX_CHECKS)

    @field_validator("body")
    @classmethod
    def _body_is_json(cls, body: str) -> str:
        # CEL cannot parse JSON; the operator refuses the object (SpecValid=False) with this message.
        try:
            json.loads(body)
        except ValueError as exc:
            raise ValueError(f"validation.requests[].body is not JSON: {exc}") from exc
        return body


_REQUEST_LIST: dict[str, Any] = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}

EvaluationMetric = Literal["rmse", "mae", "accuracy", "auc"]
# Which way is better, per metric: regression errors go down, classification scores go up.
LOWER_IS_BETTER: dict[str, bool] = {"rmse": True, "mae": True, "accuracy": False, "auc": False}
MAX_EVALUATION_ROWS = 10000


class EvaluationGate(ApiModel):
    """One metric over the labelled rows, held to bounds and to the stable revision's value."""

    metric: EvaluationMetric = Field(
        description="rmse and mae (lower is better) on numeric predictions; accuracy (prediction equals the "
        "label) and auc (binary labels, numeric scores) are higher-is-better."
    )
    min: float | None = Field(None, description="The candidate's value must be at least this.")
    max: float | None = Field(None, description="The candidate's value must be at most this.")
    max_regression: float | None = Field(
        None,
        ge=0,
        description="How much worse than the stable revision on the same rows it may be, in the metric's "
        "units (worse is higher for rmse/mae, lower for accuracy/auc). Skipped when there is no stable "
        "revision yet.",
    )

    @cel(
        "has(self.min) || has(self.max) || has(self.maxRegression)",
        "validation.evaluation.gates[] needs min, max or maxRegression",
    )
    def _bounded(self) -> bool:
        return self.min is not None or self.max is not None or self.max_regression is not None


class Evaluation(ApiModel):
    """Labelled rows sent to the candidate (and the stable revision) in batches; metrics over the answers."""

    data_uri: str = Field(
        pattern=patterns.DATA_URI,
        max_length=2048,
        description="Labelled rows (csv, parquet or jsonl), read from a data URI a ModelDeploymentPolicy "
        "grants, as analysis data is.",
    )
    format: Literal["csv", "parquet", "jsonl"] | None = Field(None, description="Default: the file suffix.")
    label: str = Field(min_length=1, max_length=256, description="The column holding the true value.")
    features: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=list,
        max_length=500,
        description="Columns sent to the model, in this order (default: every column but the label).",
    )
    path: str | None = Field(
        None, pattern=URL_PATH, max_length=512, description="Default: the revision's scoring path."
    )
    request_format: Literal["split", "instances"] = Field(
        "split",
        description='split: {"input_data": {"columns": [...], "data": [[...]]}} (Azure ML MLflow models); '
        'instances: {"instances": [{column: value}, ...]} (KServe v1 / TF Serving).',
    )
    predictions_path: str | None = Field(
        None,
        pattern=JSON_PATH,
        max_length=256,
        description="Where the list of predictions is in the answer (default: the answer itself when it is "
        "a list, else $.predictions).",
    )
    batch_size: int = Field(100, ge=1, le=1000, description="Rows per request.")
    max_rows: int = Field(1000, ge=1, le=MAX_EVALUATION_ROWS, description="Rows used, from the top.")
    gates: list[EvaluationGate] = Field(min_length=1, max_length=8)

    @cel(
        "!(self.label in self.features)",
        "validation.evaluation.features must not include the label column",
        field_path=".features",
    )
    def _label_not_a_feature(self) -> bool:
        return self.label not in self.features


class Validation(ApiModel):
    """Checks a Ready revision must pass before it takes any live or mirrored traffic."""

    health_path: str | None = Field(
        None, pattern=URL_PATH, max_length=512, description="GET here must answer 2xx (e.g. /healthz)."
    )
    timeout: Annotated[Duration, Bounds("validation.timeout", "1s", "5m")] = Field(
        "10s", description="Per request."
    )
    requests: list[SampleRequest] = Field(
        default_factory=list, max_length=MAX_REQUESTS, json_schema_extra=_REQUEST_LIST
    )
    requests_uri: str | None = Field(
        None,
        pattern=patterns.DATA_URI,
        max_length=2048,
        description="A JSON file holding more requests (a golden set): a list shaped like requests[], read "
        "from a data URI a ModelDeploymentPolicy grants, as analysis data is.",
    )
    error_limit: int = Field(
        2,
        ge=0,
        le=20,
        description="Attempts that could not reach the revision (connection refused, timeout) tolerated "
        "before it fails; a wrong answer fails it at once.",
    )
    evaluation: Evaluation | None = Field(
        None,
        description="Evaluation gates: metrics over labelled rows, against bounds and the stable revision.",
    )

    @cel(
        "has(self.healthPath) || size(self.requests) > 0 || has(self.requestsUri) || has(self.evaluation)",
        "validation needs healthPath, requests, requestsUri or evaluation",
    )
    def _something_to_check(self) -> bool:
        checks = (self.health_path, self.requests_uri, self.evaluation)
        return bool(self.requests) or any(c is not None for c in checks)
