"""Evaluation gates against real HTTP model servers on loopback: a stable and a candidate revision answer the
same labelled rows; the candidate is judged on bounds and on how much worse than stable it is."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from modeldeploy.analysis.evaluation import WrongAnswer, score
from modeldeploy.analysis.validation import HttpValidator
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import ValidationResult, Verdict
from modeldeploy.rollout.actions import ValidateRevision
from tests.analysis.test_validation import OWNER
from tests.backends.kubernetes.specs import kubernetes_spec

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ROWS = 250
RNG = np.random.default_rng(7)
X = RNG.normal(size=ROWS).round(4)
Z = RNG.normal(size=ROWS).round(4)
Y = (2 * X + 0.1 * Z).round(4)
CSV = "x,z,y\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(X, Z, Y, strict=True))

Predict = Callable[[list[dict[str, float]]], list[float]]


class Models:
    """Revisions by URL prefix (/<revision>/score); each predicts from the rows it is sent."""

    def __init__(self) -> None:
        self.predict: dict[str, Predict] = {
            "stable": lambda rows: [2 * r["x"] for r in rows],
            "good": lambda rows: [2 * r["x"] + 0.01 for r in rows],
            "worse": lambda rows: [2 * r["x"] + 0.5 for r in rows],
            "short": lambda rows: [2 * r["x"] for r in rows][:-1],
        }
        self.posts: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture
def models() -> Iterator[tuple[Models, str]]:
    m = Models()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            revision = self.path.split("/")[1]
            doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            m.posts.append((self.path, doc))
            if "instances" in doc:
                rows = doc["instances"]
                answer: Any = {"predictions": m.predict[revision](rows)}
            else:
                cols, data = doc["input_data"]["columns"], doc["input_data"]["data"]
                answer = m.predict[revision]([dict(zip(cols, row, strict=True)) for row in data])
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield m, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def spec(*gates: dict[str, Any], **evaluation: Any) -> ModelDeploymentSpec:
    e = {"dataUri": "https://acct.blob.core.windows.net/golden/rows.csv", "label": "y", "gates": list(gates)}
    return kubernetes_spec(validation={"evaluation": e | evaluation})


def validate(url: str, s: ModelDeploymentSpec, candidate: str, stable: str | None) -> ValidationResult:
    reads: list[str] = []

    def read(owner: Any, spec: Any, uri: str) -> bytes:
        reads.append(uri)
        return CSV.encode()

    v = HttpValidator(
        lambda o, s, r: pytest.fail("the override is used"), override=url + "/{revision}", read=read
    )
    result = v.validate(OWNER, s, ValidateRevision(candidate, 1, stable), NOW)
    assert reads == ["https://acct.blob.core.windows.net/golden/rows.csv"]  # read once, through the guard
    return result


RMSE_GATE = {"metric": "rmse", "max": 1.0, "maxRegression": 0.05}


def test_a_candidate_as_good_as_stable_passes_with_both_values(models: tuple[Models, str]) -> None:
    m, url = models
    r = validate(url, spec(RMSE_GATE, {"metric": "mae", "max": 0.2}), "good", "stable")
    assert r.verdict is Verdict.SUCCESSFUL, r.message
    rmse = next(c for c in r.checks if c.name == "evaluation-rmse")
    expected = float(np.sqrt(np.mean((2 * X + 0.01 - Y) ** 2)))
    assert (
        rmse.message == f"rmse {expected:.4g} on 250 rows (stable {np.sqrt(np.mean((2 * X - Y) ** 2)):.4g})"
    )
    # Both revisions answered the same rows in batches of 100 (3 requests each), in the split format.
    paths = [p for p, _ in m.posts]
    assert paths == ["/good/score"] * 3 + ["/stable/score"] * 3
    first = m.posts[0][1]["input_data"]
    assert first["columns"] == ["x", "z"]
    assert first["data"][0] == [X[0], Z[0]]
    assert [len(d["input_data"]["data"]) for _, d in m.posts[:3]] == [100, 100, 50]


def test_a_candidate_worse_than_stable_fails_naming_by_how_much(models: tuple[Models, str]) -> None:
    _, url = models
    r = validate(url, spec(RMSE_GATE), "worse", "stable")
    assert r.verdict is Verdict.FAILED
    worse = float(np.sqrt(np.mean((2 * X + 0.5 - Y) ** 2)) - np.sqrt(np.mean((2 * X - Y) ** 2)))
    assert f"worse than stable by {worse:.4g} (allowed 0.05)" in r.message
    # With no stable revision (the first one) only the bounds hold, and the stable is never asked.
    first = validate(url, spec(RMSE_GATE), "worse", None)
    assert first.verdict is Verdict.SUCCESSFUL, first.message
    assert "(stable" not in first.message


def test_bounds_alone_and_the_instances_format(models: tuple[Models, str]) -> None:
    m, url = models
    gate = {"metric": "rmse", "max": 0.3}
    r = validate(url, spec(gate, requestFormat="instances", batchSize=250, features=["x"]), "worse", "stable")
    assert r.verdict is Verdict.FAILED
    assert "above the maximum 0.3" in r.message
    assert [p for p, _ in m.posts] == ["/worse/score"]  # no regression gate: the stable is not asked
    assert m.posts[0][1]["instances"][0] == {"x": X[0]}


def test_wrong_answers_fail_and_an_unreachable_stable_is_an_error(models: tuple[Models, str]) -> None:
    _, url = models
    short = validate(url, spec(RMSE_GATE), "short", "stable")
    assert short.verdict is Verdict.FAILED
    assert short.message == "evaluation: candidate answered 99 predictions for 100 rows (rows 0-)"
    gone = validate(url.replace(url.rsplit(":", 1)[1], "9"), spec(RMSE_GATE), "good", "stable")
    assert gone.verdict is Verdict.ERROR
    assert gone.message.startswith("evaluation: candidate: http://127.0.0.1:9/good/score unreachable")


def test_data_problems_are_errors_naming_the_column(models: tuple[Models, str]) -> None:
    _, url = models
    r = validate(url, spec(RMSE_GATE, label="target"), "good", "stable")
    assert r.verdict is Verdict.ERROR
    assert (
        r.message
        == "evaluation: evaluation: label column 'target' is not in the data (columns: ['x', 'z', 'y'])"
    )


def test_the_metrics_match_their_definitions() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(60).round(2)  # ties on purpose
    labels = (rng.random(60) < scores).astype(int)
    pairs = list(itertools.product(scores[labels == 1], scores[labels == 0]))
    brute = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert score("auc", list(scores), list(labels)) == pytest.approx(brute, abs=1e-12)
    assert score("auc", list(scores), [bool(v) for v in labels]) == pytest.approx(brute, abs=1e-12)
    assert score("accuracy", ["a", "b", 1, 2.0], ["a", "c", 1.0, 2]) == 0.75
    assert score("mae", [1.0, 3.0], [2.0, 2.0]) == 1.0
    with pytest.raises(WrongAnswer, match="rmse needs numeric predictions, got 'x'"):
        score("rmse", ["x"], [1.0])
    with pytest.raises(WrongAnswer, match="auc needs two label values, the data has 3"):
        score("auc", [0.1, 0.2, 0.3], [0, 1, 2])
