"""Where validation reaches one Azure ML deployment alone: the endpoint's scoring URI, the deployment header
(which routes past the traffic split) and the endpoint's key, read through the SDK's own entity types."""

from __future__ import annotations

import pytest

from modeldeploy.api.azure_names import deployment_name
from modeldeploy.backends.azureml.scoring import scoring_address
from modeldeploy.ports import BackendError
from modeldeploy.rollout.serving import Readiness
from tests.backends.azureml.rig import Rig, example_spec


def test_a_ready_deployment_is_addressed_by_header_on_the_scoring_uri_with_the_endpoint_key() -> None:
    rig = Rig(example_spec("budget-optimizer"))
    request = rig.request(0, None)
    rig.backend.ensure_revision(rig.owner, request)
    rig.ws.settle()
    assert rig.backend.ensure_revision(rig.owner, request).readiness is Readiness.READY
    endpoint = rig.spec.target.azureml.endpoint_name  # type: ignore[union-attr]
    address = rig.backend.scoring_address(rig.owner, request.name)
    assert address.base_url == f"https://{endpoint}.westeurope.inference.ml.azure.com"
    assert address.scoring_path == "/score"
    assert address.headers == {
        "azureml-model-deployment": deployment_name(request.name),
        "Authorization": f"Bearer key-of-{endpoint}",
    }
    assert rig.ws.count("online_endpoints.get_keys") == 1


def test_no_endpoint_is_a_backend_error_naming_it() -> None:
    rig = Rig(example_spec("budget-optimizer"))
    with pytest.raises(BackendError, match="does not exist"):
        rig.backend.scoring_address(rig.owner, "budget-optimizer-0123456789")


def test_a_token_endpoint_sends_its_token_and_no_uri_is_an_error() -> None:
    class Endpoint:
        name = "ep"
        scoring_uri = "https://ep.eastus.inference.ml.azure.com/score"

    class Token:
        access_token = "aml-token"

    address = scoring_address(Endpoint(), Token(), "dep")
    assert address.headers["Authorization"] == "Bearer aml-token"
    Endpoint.scoring_uri = ""
    with pytest.raises(BackendError, match="endpoint ep has no scoring URI yet"):
        scoring_address(Endpoint(), Token(), "dep")
