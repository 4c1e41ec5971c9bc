"""API Management named values over ARM, the gateway side of a serverless target's traffic split.

azure-mgmt-apimanagement is not a dependency (about 20 MB for two calls), so the two calls go through
azure-mgmt-core's ARM pipeline (bearer token for https://management.azure.com, ARM's error format) with
the same credential as the Azure ML clients. Writes are compare-and-swap: the PUT carries the ETag of the
GET it was computed from (``If-Match``), so two writers never lose each other's routes; a 412 is a
retryable conflict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, map_error
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, HeadersPolicy, RequestIdPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat

from modeldeploy.ports import BackendError

API_VERSION = "2022-08-01"
ARM = "https://management.azure.com"


@dataclass(frozen=True)
class NamedValue:
    value: str
    etag: str | None


class ApimNamedValues:
    """``GET`` / ``PUT .../Microsoft.ApiManagement/service/<service>/namedValues/<name>``."""

    def __init__(
        self,
        credential: Any,
        subscription_id: str,
        resource_group: str,
        service: str,
        base_url: str = ARM,
        **pipeline_kwargs: Any,
    ) -> None:
        self.scope = (
            f"/subscriptions/{quote(subscription_id)}/resourceGroups/{quote(resource_group)}"
            f"/providers/Microsoft.ApiManagement/service/{quote(service)}"
        )
        policies = [
            RequestIdPolicy(),
            HeadersPolicy(),
            BearerTokenCredentialPolicy(credential, f"{ARM}/.default"),
        ]
        self._client: ARMPipelineClient[HttpRequest, Any] = ARMPipelineClient(
            base_url=base_url, policies=policies, **pipeline_kwargs
        )

    def _url(self, name: str) -> str:
        # send_request sends the URL as given: it must be absolute (generated clients call format_url too).
        return self._client.format_url(f"{self.scope}/namedValues/{quote(name)}?api-version={API_VERSION}")

    def get(self, name: str) -> NamedValue | None:
        response = self._client.send_request(HttpRequest("GET", self._url(name)))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            map_error(response.status_code, response, {404: ResourceNotFoundError})
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        body = response.json()
        value = (body.get("properties") or {}).get("value")
        if not isinstance(value, str):
            raise BackendError(
                "GatewayValueUnreadable",
                f"API Management named value {name} has no readable value (a secret or Key Vault value?)",
                retryable=False,
            )
        return NamedValue(value, response.headers.get("ETag"))

    def put(self, name: str, value: str, etag: str | None) -> None:
        body = {"properties": {"displayName": name, "value": value, "secret": False}}
        headers = {"Content-Type": "application/json", "If-Match": etag or "*"}
        request = HttpRequest("PUT", self._url(name), headers=headers, content=json.dumps(body))
        response = self._client.send_request(request)
        if response.status_code == 412:
            raise BackendError(
                "GatewayConflict", f"API Management named value {name} changed while it was written"
            )
        if response.status_code not in (200, 201, 202):
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
