"""The API Management named-value client over azure-core's real ARM pipeline and a requests transport that
answers from a list (no network): what it sends, and how ARM's answers come back."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import RequestsTransport

from modeldeploy.backends.azureml.apim import ApimNamedValues
from modeldeploy.ports import BackendError

SUB = "00000000-0000-4000-8000-000000000001"
PATH = (
    f"/subscriptions/{SUB}/resourceGroups/kdap-prod-rg/providers/Microsoft.ApiManagement/service/kdap-prod-apim"
    "/namedValues/llama-31-8b-adapter-coding"
)


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes = scopes
        return AccessToken("t0ken", 4_102_444_800)


class _Adapter(requests.adapters.BaseAdapter):
    def __init__(self, *answers: tuple[int, dict[str, Any], dict[str, str]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        status, body, headers = self.answers.pop(0)
        raw = requests.Response()
        raw.status_code, raw.reason, raw.request, raw.url = status, "x", request, str(request.url)
        raw.headers.update({"Content-Type": "application/json", **headers})
        raw._content = json.dumps(body).encode()
        raw.raw = urllib3.HTTPResponse(body=io.BytesIO(raw._content), status=status, preload_content=False)
        return raw

    def close(self) -> None: ...


def _client(adapter: _Adapter, token: _Token | None = None) -> ApimNamedValues:
    session = requests.Session()
    session.mount("https://", adapter)
    transport = RequestsTransport(session=session, session_owner=False)
    return ApimNamedValues(token or _Token(), SUB, "kdap-prod-rg", "kdap-prod-apim", transport=transport)


def _value(value: Any) -> dict[str, Any]:
    return {"name": "llama-31-8b-adapter-coding", "properties": {"displayName": "x", "value": value}}


def test_get_reads_the_value_and_its_etag_with_an_arm_token() -> None:
    token = _Token()
    adapter = _Adapter((200, _value("unrouted"), {"ETag": '"AAAA"'}))
    got = _client(adapter, token).get("llama-31-8b-adapter-coding")
    assert got is not None
    assert (got.value, got.etag) == ("unrouted", '"AAAA"')
    sent = adapter.requests[0]
    assert sent.method == "GET"
    assert sent.url == f"https://management.azure.com{PATH}?api-version=2022-08-01"
    assert sent.headers["Authorization"] == "Bearer t0ken"
    assert token.scopes == ("https://management.azure.com/.default",)


def test_put_is_compare_and_swap_on_the_etag_it_read() -> None:
    adapter = _Adapter((200, _value("owner|a/b"), {}))
    _client(adapter).put("llama-31-8b-adapter-coding", "owner|a/b", '"AAAA"')
    sent = adapter.requests[0]
    assert (sent.method, sent.headers["If-Match"]) == ("PUT", '"AAAA"')
    assert json.loads(sent.body or b"") == {
        "properties": {"displayName": "llama-31-8b-adapter-coding", "value": "owner|a/b", "secret": False}
    }


def test_a_changed_value_is_a_retryable_conflict() -> None:
    error = {"error": {"code": "PreconditionFailed", "message": "etag mismatch"}}
    with pytest.raises(BackendError) as err:
        _client(_Adapter((412, error, {}))).put("llama-31-8b-adapter-coding", "x", '"old"')
    assert err.value.reason == "GatewayConflict"
    assert err.value.retryable


def test_missing_secret_and_refused_answers() -> None:
    missing = {"error": {"code": "ResourceNotFound", "message": "no"}}
    assert _client(_Adapter((404, missing, {}))).get("llama-31-8b-adapter-coding") is None
    with pytest.raises(BackendError, match="has no readable value"):
        _client(_Adapter((200, _value(None), {}))).get("llama-31-8b-adapter-coding")
    denied = {"error": {"code": "AuthorizationFailed", "message": "no role"}}
    with pytest.raises(HttpResponseError, match="AuthorizationFailed"):
        _client(_Adapter((403, denied, {}))).get("llama-31-8b-adapter-coding")
