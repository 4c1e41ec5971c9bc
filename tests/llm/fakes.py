"""Azure ML serverless endpoints and API Management named values in memory, at the SDK boundary.

Serverless endpoints are kept as the service's REST objects and handed out as the SDK's own
``ServerlessEndpoint`` entities (``_from_rest_object``, as ``MLClient.serverless_endpoints.get`` does);
missing ones answer 404 as ``ResourceNotFoundError``. Named values keep an ETag per write and refuse a
stale ``If-Match`` with the 412 the ARM client turns into a conflict, as API Management does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from azure.ai.ml._restclient.arm_ml_service.models import ServerlessEndpoint as RestServerlessEndpoint
from azure.ai.ml.entities import ServerlessEndpoint

from modeldeploy.api import platform
from modeldeploy.backends.azureml.apim import NamedValue
from modeldeploy.ports import BackendError
from tests.backends.azureml.fakes import http_error

LLAMA = "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct"


@dataclass
class FakeServerlessEndpoints:
    endpoints: dict[str, Any] = field(default_factory=dict)  # name -> REST ServerlessEndpoint
    gets: int = 0

    def add(self, name: str, state: str = "Succeeded", model_id: str = LLAMA) -> None:
        self.endpoints[name] = RestServerlessEndpoint(
            {
                "name": name,
                "location": "eastus2",
                "sku": {"name": "Consumption"},
                "properties": {
                    "modelSettings": {"modelId": model_id},
                    "authMode": "Key",
                    "provisioningState": state,
                    "inferenceEndpoint": {
                        "uri": f"https://{name}.eastus2.models.ai.azure.com",
                        "headers": {},
                    },
                },
            }
        )

    def get(self, name: str) -> ServerlessEndpoint:
        self.gets += 1
        rest = self.endpoints.get(name)
        if rest is None:
            raise http_error(404, "ResourceNotFound", f"serverless endpoint {name} not found")
        return ServerlessEndpoint._from_rest_object(rest)


@dataclass
class FakeNamedValues:
    """One API Management instance's named values."""

    values: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (value, etag)
    writes: list[tuple[str, str]] = field(default_factory=list)
    _etags: Any = field(default_factory=lambda: itertools.count(1))

    def declare(self, name: str, value: str = platform.ADAPTER_ROUTES_UNROUTED) -> None:
        """What infra does for a declared adapter."""
        self.values[name] = (value, f'"{next(self._etags)}"')

    def get(self, name: str) -> NamedValue | None:
        got = self.values.get(name)
        return None if got is None else NamedValue(*got)

    def put(self, name: str, value: str, etag: str | None) -> None:
        current = self.values.get(name)
        if current is not None and etag not in ("*", current[1]):
            raise BackendError(
                "GatewayConflict", f"API Management named value {name} changed while it was written"
            )
        if len(value) > platform.ADAPTER_ROUTES_MAX:
            raise http_error(400, "ValidationError", "value is longer than 4096 characters")
        self.writes.append((name, value))
        self.values[name] = (value, f'"{next(self._etags)}"')

    def routes(self, name: str) -> tuple[str | None, list[platform.Route], platform.Route | None]:
        return platform.decode_routes(self.values[name][0])
