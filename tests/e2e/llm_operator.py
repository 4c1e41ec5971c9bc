"""The operator process with the Azure side of serverless targets replaced, for the adapter end-to-end test:
``python -m tests.e2e.llm_operator <platform.json> <operator args...>``.

Everything is the real operator (kopf, the work queue, the policy gate, the status writes, the analysis
through its Prometheus client) except what would call Azure: the serverless endpoints and the registry's
adapter versions are the SDK fakes (``tests/llm/fakes.py``, seeded from ``platform.json``), and API
Management's named values are read and written over HTTP on the test's gateway with the same ETag rules.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

from modeldeploy.api.spec import ServerlessTarget
from modeldeploy.backends.azureml.apim import NamedValue
from modeldeploy.backends.azureml.clients import AzureMLBackends
from modeldeploy.backends.azureml.serverless import ServerlessBackend
from modeldeploy.controller.main import main
from modeldeploy.ports import BackendError
from tests.backends.azureml.model_fakes import FakeModels
from tests.llm.fakes import FakeServerlessEndpoints


class HttpNamedValues:
    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, name: str) -> NamedValue | None:
        try:
            with urllib.request.urlopen(f"{self.url}/namedValues/{name}", timeout=5) as answer:
                return NamedValue(json.load(answer)["properties"]["value"], answer.headers["ETag"])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def put(self, name: str, value: str, etag: str | None) -> None:
        body = json.dumps({"properties": {"value": value}}).encode()
        request = urllib.request.Request(
            f"{self.url}/namedValues/{name}", body, {"If-Match": etag or "*"}, method="PUT"
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except urllib.error.HTTPError as exc:
            if exc.code == 412:
                raise BackendError(
                    "GatewayConflict", f"named value {name} changed while it was written"
                ) from exc
            raise


def install(world: dict[str, Any]) -> None:
    endpoints = FakeServerlessEndpoints()
    for name in world["endpoints"]:
        endpoints.add(name)
    registry = FakeModels(registry=world["registry"])
    for name, version in world["adapters"]:
        registry.register(name, version)
    routes = HttpNamedValues(world["gateway"])

    def for_serverless(self: AzureMLBackends, target: ServerlessTarget) -> ServerlessBackend:
        return ServerlessBackend(endpoints, lambda r: registry, routes, target, guard=self.guard)

    AzureMLBackends.for_serverless = for_serverless  # type: ignore[method-assign]


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        install(json.load(f))
    sys.exit(main(sys.argv[2:]))
