"""Where one Azure ML deployment answers on its own: the endpoint's scoring URI with the
``azureml-model-deployment`` header, which routes a request to that deployment whatever the traffic split
(so a revision with 0% can be validated), and the endpoint's credential as a bearer token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from modeldeploy.ports import BackendError, ScoringAddress

DEPLOYMENT_HEADER = "azureml-model-deployment"


def scoring_address(endpoint: Any, keys: Any, deployment: str) -> ScoringAddress:
    """``endpoint``: an ``OnlineEndpoint``; ``keys``: what ``online_endpoints.get_keys`` returned
    (``EndpointAuthKeys`` for key auth, ``EndpointAuthToken`` / ``EndpointAadToken`` for token auth)."""
    uri = getattr(endpoint, "scoring_uri", None)
    if not uri:
        raise BackendError("ScoringUriMissing", f"endpoint {endpoint.name} has no scoring URI yet")
    parts = urlsplit(uri)
    headers = {DEPLOYMENT_HEADER: deployment}
    secret = getattr(keys, "primary_key", None) or getattr(keys, "access_token", None)
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return ScoringAddress(f"{parts.scheme}://{parts.netloc}", parts.path or "/score", headers)
