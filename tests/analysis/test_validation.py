"""HttpValidator against a real HTTP server on loopback: what is sent, and how each answer is judged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modeldeploy.analysis.validation import HttpValidator, lookup
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import Verdict
from modeldeploy.ports import Owner, ScoringAddress
from modeldeploy.rollout.actions import ValidateRevision
from tests.backends.kubernetes.specs import kubernetes_spec

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = Owner("ml", "fraud", "uid-1")


class Model:
    """What the server answers: ``answer`` for POST, ``health`` status for GET; it records requests."""

    def __init__(self) -> None:
        self.answer: tuple[int, Any] = (200, {"prediction": 0.42, "labels": ["a"]})
        self.health = 200
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []


@pytest.fixture
def model() -> Iterator[tuple[Model, str]]:
    m = Model()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            m.seen.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/")
                self.end_headers()
                return
            self._reply(m.health, b"ok")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            m.seen.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, doc = m.answer
            self._reply(status, doc if isinstance(doc, bytes) else json.dumps(doc).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield m, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def spec(**validation: Any) -> ModelDeploymentSpec:
    return kubernetes_spec(validation=validation)


def sample(*expect: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"name": "smoke", "body": '{"amount": 12.5}', "expect": list(expect), **kw}


def run(s: ModelDeploymentSpec, address: ScoringAddress) -> Any:
    v = HttpValidator(lambda owner, spec, revision: address)
    return v.validate(OWNER, s, ValidateRevision("fraud-abc"), NOW)


def test_a_correct_answer_passes_and_the_request_is_what_the_spec_says(model: tuple[Model, str]) -> None:
    m, url = model
    s = spec(
        healthPath="/healthz",
        requests=[
            sample(
                {"path": "$.prediction", "type": "number", "value": 0.4, "tolerance": 0.05},
                {"path": "$.labels[0]", "type": "string"},
            )
        ],
    )
    r = run(s, ScoringAddress(url, "/score", {"azureml-model-deployment": "fraud-abc"}))
    assert r.verdict is Verdict.SUCCESSFUL, r.message
    assert [(c.name, c.verdict) for c in r.checks] == [
        ("health", Verdict.SUCCESSFUL),
        ("smoke", Verdict.SUCCESSFUL),
    ]
    (get, post) = m.seen
    assert (get[0], get[1]) == ("GET", "/healthz")
    assert (post[0], post[1], post[3]) == ("POST", "/score", b'{"amount": 12.5}')
    assert post[2]["azureml-model-deployment"] == "fraud-abc"
    assert post[2]["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("answer", "check", "why"),
    [
        ({"prediction": "high"}, {"path": "$.prediction", "type": "number"},
         "$.prediction is string, expected number"),
        ({"score": 1}, {"path": "$.prediction"}, "$.prediction is missing"),
        ({"prediction": 0.9}, {"path": "$.prediction", "value": 0.4, "tolerance": 0.05},
         "$.prediction = 0.9, expected 0.4 ± 0.05"),
        ({"prediction": [1]}, {"path": "$.prediction[3]"}, "$.prediction[3] is missing"),
        ({"prediction": True}, {"path": "$.prediction", "type": "integer"},
         "$.prediction is boolean, expected integer"),
    ],
)  # fmt: skip
def test_a_wrong_answer_fails_with_the_reason(
    model: tuple[Model, str], answer: Any, check: dict[str, Any], why: str
) -> None:
    m, url = model
    m.answer = (200, answer)
    r = run(spec(requests=[sample(check)]), ScoringAddress(url))
    assert r.verdict is Verdict.FAILED
    assert r.message == f"smoke: {why}"


def test_an_unexpected_status_and_a_failing_health_check_fail(model: tuple[Model, str]) -> None:
    m, url = model
    m.answer, m.health = (400, b"bad input"), 500
    r = run(spec(healthPath="/healthz", requests=[sample()]), ScoringAddress(url))
    assert r.verdict is Verdict.FAILED
    assert (
        r.message
        == "health: GET /healthz answered 500; smoke: POST /score answered 400, expected 200: bad input"
    )


def test_an_answer_that_is_not_json_fails_when_paths_are_expected(model: tuple[Model, str]) -> None:
    m, url = model
    m.answer = (200, b"<html>")
    r = run(spec(requests=[sample({"path": "$.prediction"})]), ScoringAddress(url))
    assert (r.verdict, r.message) == (Verdict.FAILED, "smoke: the answer is not JSON")


def test_503_and_a_closed_port_are_errors_not_failures(model: tuple[Model, str]) -> None:
    m, url = model
    m.answer = (503, b"warming up")
    r = run(spec(requests=[sample()]), ScoringAddress(url))
    assert r.verdict is Verdict.ERROR
    assert r.message == "smoke: /score answered 503 (not serving yet?)"
    r = run(spec(requests=[sample()]), ScoringAddress("http://127.0.0.1:9"))
    assert r.verdict is Verdict.ERROR
    assert "http://127.0.0.1:9/score unreachable" in r.message


def test_a_redirect_is_not_followed(model: tuple[Model, str]) -> None:
    m, url = model
    r = run(spec(healthPath="/moved"), ScoringAddress(url))
    assert r.verdict is Verdict.FAILED
    assert r.message == "health: GET /moved answered 302"
    assert [p for _, p, _, _ in m.seen] == ["/moved"], "nothing was sent where the redirect pointed"


def test_the_override_template_replaces_the_backend_address(model: tuple[Model, str]) -> None:
    m, url = model

    def no_backend(owner: Owner, spec: ModelDeploymentSpec, revision: str) -> ScoringAddress:
        raise AssertionError("the backend is not asked when an override is set")

    v = HttpValidator(no_backend, override=url + "/{namespace}/{revision}")
    r = v.validate(OWNER, spec(requests=[sample(path="/predict")]), ValidateRevision("fraud-abc"), NOW)
    assert r.verdict is Verdict.SUCCESSFUL, r.message
    assert m.seen[0][1] == "/ml/fraud-abc/predict"


def test_an_address_that_cannot_be_found_is_an_error() -> None:
    def missing(owner: Owner, spec: ModelDeploymentSpec, revision: str) -> ScoringAddress:
        raise RuntimeError("endpoint gone")

    r = HttpValidator(missing).validate(OWNER, spec(healthPath="/"), ValidateRevision("fraud-abc"), NOW)
    assert (r.verdict, r.message) == (Verdict.ERROR, "no address for revision fraud-abc: endpoint gone")


def test_lookup_walks_keys_and_indexes() -> None:
    doc = {"a": {"b": [10, {"c": None}]}}
    assert lookup(doc, "$.a.b[1].c") == (True, None)
    assert lookup(doc, "$.a.b[0]") == (True, 10)
    assert lookup(doc, "$") == (True, doc)
    assert lookup(doc, "$.a.x") == (False, None)
    assert lookup(doc, "$.a[0]") == (False, None)


def test_a_golden_set_from_requests_uri_is_sent_too(model: tuple[Model, str]) -> None:
    m, url = model
    golden = [
        {"name": "golden-1", "body": '{"amount": 1}', "expect": [{"path": "$.prediction", "value": 0.42}]}
    ]
    read_uris: list[str] = []

    def read(owner: Owner, spec: ModelDeploymentSpec, uri: str) -> bytes:
        read_uris.append(uri)
        return json.dumps(golden).encode()

    s = spec(requests=[sample()], requestsUri="file:///data/golden.json")
    v = HttpValidator(lambda owner, spec, revision: ScoringAddress(url), read=read)
    r = v.validate(OWNER, s, ValidateRevision("fraud-abc"), NOW)
    assert r.verdict is Verdict.SUCCESSFUL, r.message
    assert [c.name for c in r.checks] == ["smoke", "golden-1"]
    assert read_uris == ["file:///data/golden.json"]
    assert [body for _, _, _, body in m.seen] == [b'{"amount": 12.5}', b'{"amount": 1}']


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"name": "x"}', "validation.requestsUri: expected a JSON list of at most 200 requests"),
        (b'[{"name": "x", "body": "not json"}]', "validation.requests[].body is not JSON"),
    ],
)
def test_a_golden_set_that_is_not_a_list_of_requests_is_an_error(
    model: tuple[Model, str], content: bytes, reason: str
) -> None:
    m, url = model
    v = HttpValidator(lambda owner, spec, revision: ScoringAddress(url), read=lambda o, s, u: content)
    r = v.validate(OWNER, spec(requestsUri="file:///data/golden.json"), ValidateRevision("fraud-abc"), NOW)
    assert r.verdict is Verdict.ERROR
    assert reason in r.message
    assert m.seen == [], "nothing is sent when the golden set cannot be read"


def test_read_document_goes_through_the_data_root_and_the_policy_guard(tmp_path: Any) -> None:
    from modeldeploy.analysis.service import AnalysisService
    from modeldeploy.analysis.stores import DataUnavailable

    (tmp_path / "golden.json").write_text("[]")
    refused: list[str] = []

    def guard(owner: Owner, spec: ModelDeploymentSpec, uri: str) -> str | None:
        refused.append(uri)
        return "not granted" if "secret" in uri else None

    svc = AnalysisService(data_root=str(tmp_path), uri_guard=guard)
    s = spec(healthPath="/")
    assert svc.read_document(OWNER, s, f"file://{tmp_path}/golden.json") == b"[]"
    with pytest.raises(DataUnavailable, match="not granted"):
        svc.read_document(OWNER, s, f"file://{tmp_path}/secret.json")
    with pytest.raises(DataUnavailable, match="outside"):
        svc.read_document(OWNER, s, "file:///etc/passwd")
