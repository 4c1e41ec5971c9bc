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

    @cel(
        "has(self.healthPath) || size(self.requests) > 0 || has(self.requestsUri)",
        "validation needs healthPath, requests or requestsUri",
    )
    def _something_to_check(self) -> bool:
        return self.health_path is not None or bool(self.requests) or self.requests_uri is not None
