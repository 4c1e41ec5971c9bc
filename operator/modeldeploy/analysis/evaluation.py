"""Evaluation gates: labelled rows sent to the candidate and the stable revision, metrics over the answers.

Both revisions answer the same rows in the same batches, each reached where it answers alone (no traffic
split), so "worse than stable by more than maxRegression" compares like with like. A gate is one check in
the validation result: Failed with both values when the candidate is out of bounds or regressed, Error when
a revision could not be reached (retried by the machine up to ``validation.errorLimit``), Successful
otherwise. Wrong answers (a count that does not match the rows, a non-numeric prediction for rmse) fail the
candidate at once: a model that cannot answer its own golden set is not ready for traffic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modeldeploy.api.status import CheckResult, Verdict
from modeldeploy.api.validation import LOWER_IS_BETTER, Evaluation, EvaluationGate

if TYPE_CHECKING:  # numpy and pyarrow load on the first evaluation, not with the controller
    import numpy as np
    import pyarrow as pa

# (path, body) -> parsed JSON answer; raises Unreachable when there is no answer worth judging.
Send = Callable[[str, bytes], Any]


class Unreachable(Exception):
    """The revision gave no answer worth judging (connection, timeout, 502/503/504)."""


class WrongAnswer(Exception):
    """The revision answered, but not with predictions for the rows it was sent."""


@dataclass(frozen=True)
class Rows:
    features: list[str]
    values: list[list[Any]]  # row-major, as sent
    labels: list[Any]


def load_rows(data: bytes, e: Evaluation, fmt: str) -> Rows:
    from .sources import read_table

    table = read_table(data, fmt).slice(0, e.max_rows)
    if e.label not in table.column_names:
        raise ValueError(f"label column {e.label!r} is not in the data (columns: {table.column_names})")
    features = e.features or [c for c in table.column_names if c != e.label]
    missing = [c for c in features if c not in table.column_names]
    if missing:
        raise ValueError(f"features not in the data: {missing}")
    if table.num_rows == 0:
        raise ValueError("the data has no rows")
    cols = [_json_safe(table[c]) for c in features]
    return Rows(features, [list(r) for r in zip(*cols, strict=True)], _json_safe(table[e.label]))


def _json_safe(column: pa.ChunkedArray) -> list[Any]:
    import pyarrow as pa

    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return [None if v is None else v.isoformat() for v in column.to_pylist()]
    return list(column.to_pylist())


def predictions(rows: Rows, e: Evaluation, send: Send, path: str) -> list[Any]:
    """The revision's predictions for every row, batch by batch."""
    out: list[Any] = []
    for start in range(0, len(rows.values), e.batch_size):
        batch = rows.values[start : start + e.batch_size]
        answer = send(path, json.dumps(_body(rows.features, batch, e), allow_nan=False).encode())
        got = _extract(answer, e.predictions_path)
        if len(got) != len(batch):
            raise WrongAnswer(f"answered {len(got)} predictions for {len(batch)} rows (rows {start}-)")
        out += got
    return out


def _body(features: list[str], batch: list[list[Any]], e: Evaluation) -> dict[str, Any]:
    if e.request_format == "instances":
        return {"instances": [dict(zip(features, row, strict=True)) for row in batch]}
    return {"input_data": {"columns": features, "data": batch}}


def _extract(answer: Any, path: str | None) -> list[Any]:
    from .validation import lookup  # the same JSONPath subset the sample requests use

    if path is None:
        if isinstance(answer, list):
            return answer
        path = "$.predictions"
    found, value = lookup(answer, path)
    if not found or not isinstance(value, list):
        raise WrongAnswer(f"{path} is not a list of predictions in the answer")
    return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in value]


def score(metric: str, preds: Sequence[Any], labels: Sequence[Any]) -> float:
    """The metric over predictions and labels; ``WrongAnswer`` when the predictions cannot be scored."""
    import numpy as np

    if metric == "accuracy":
        return float(np.mean([_same(p, y) for p, y in zip(preds, labels, strict=True)]))
    p = _numbers(preds, metric)
    if metric == "auc":
        return _auc(p, labels)
    y = _numbers(labels, metric, what="label")
    if metric == "rmse":
        return math.sqrt(float(np.mean((p - y) ** 2)))
    return float(np.mean(np.abs(p - y)))  # mae


def _same(p: Any, y: Any) -> bool:
    if isinstance(p, int | float) and isinstance(y, int | float) and not isinstance(p, bool):
        return float(p) == float(y)
    return bool(p == y) or str(p) == str(y)


def _numbers(values: Sequence[Any], metric: str, what: str = "prediction") -> np.ndarray:
    import numpy as np

    bad = next((v for v in values if not isinstance(v, int | float) or isinstance(v, bool)), None)
    if bad is not None or not values:
        raise WrongAnswer(f"{metric} needs numeric {what}s, got {bad!r}")
    arr = np.asarray(values, dtype=float)
    if not np.isfinite(arr).all():
        raise WrongAnswer(f"{metric}: a {what} is not finite")
    return arr


def _auc(scores: np.ndarray, labels: Sequence[Any]) -> float:
    """Area under the ROC curve as the Mann-Whitney U of the positives' ranks (ties count half)."""
    import numpy as np
    from scipy.stats import rankdata

    classes = sorted({str(y) for y in labels})
    if len(classes) != 2:
        raise WrongAnswer(f"auc needs two label values, the data has {len(classes)}: {classes[:5]}")
    positive = "True" if "True" in classes else classes[1]  # 0/1, false/true, no/yes: the latter
    pos = np.array([str(y) == positive for y in labels])
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def judge(gate: EvaluationGate, value: float, stable: float | None, rows: int) -> CheckResult:
    name = f"evaluation-{gate.metric}"
    seen = f"{gate.metric} {value:.4g} on {rows} rows" + ("" if stable is None else f" (stable {stable:.4g})")
    problems = []
    if gate.min is not None and value < gate.min:
        problems.append(f"below the minimum {gate.min:g}")
    if gate.max is not None and value > gate.max:
        problems.append(f"above the maximum {gate.max:g}")
    if gate.max_regression is not None and stable is not None:
        worse = value - stable if LOWER_IS_BETTER[gate.metric] else stable - value
        if worse > gate.max_regression:
            problems.append(f"worse than stable by {worse:.4g} (allowed {gate.max_regression:g})")
    if problems:
        return CheckResult(name=name, verdict=Verdict.FAILED, message=f"{seen}: {', '.join(problems)}")
    return CheckResult(name=name, verdict=Verdict.SUCCESSFUL, message=seen)


def evaluate(e: Evaluation, rows: Rows, candidate: Send, stable: Send | None, path: str) -> list[CheckResult]:
    """One check per gate. The stable revision is asked only when a gate compares with it."""
    try:
        mine = predictions(rows, e, candidate, path)
    except Unreachable as exc:
        return [CheckResult(name="evaluation", verdict=Verdict.ERROR, message=f"candidate: {exc}")]
    except WrongAnswer as exc:
        return [CheckResult(name="evaluation", verdict=Verdict.FAILED, message=f"candidate {exc}")]
    theirs: list[Any] | None = None
    if stable is not None and any(g.max_regression is not None for g in e.gates):
        try:
            theirs = predictions(rows, e, stable, path)
        except (Unreachable, WrongAnswer) as exc:
            msg = f"the stable revision gave nothing to compare with: {exc}"
            return [CheckResult(name="evaluation", verdict=Verdict.ERROR, message=msg)]
    checks = []
    for gate in e.gates:
        try:
            value = score(gate.metric, mine, rows.labels)
            base = score(gate.metric, theirs, rows.labels) if theirs is not None else None
        except WrongAnswer as exc:
            name = f"evaluation-{gate.metric}"
            checks.append(CheckResult(name=name, verdict=Verdict.FAILED, message=str(exc)))
            continue
        checks.append(judge(gate, value, base, len(rows.labels)))
    return checks
