"""Shadow comparisons hold the candidate to stable's latency, error rate and prediction distribution."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import numpy as np

from modeldeploy.analysis.shadow import Side, compare_error_rate, compare_latency, compare_predictions
from modeldeploy.analysis.sources import DataUnavailable
from modeldeploy.analysis.types import Columns, FeatureKind, MetricValue, Verdict

END = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=5)


class Values:
    """A provider answering per revision (the `revision` param), or no data."""

    def __init__(self, **values: float | None) -> None:
        self.values = values
        self.seen: list[tuple[str, str]] = []

    def query(self, query: str, params: Mapping[str, str], start: datetime, end: datetime) -> MetricValue:
        self.seen.append((query, params["revision"]))
        v = self.values.get(params["revision"])
        return MetricValue(v, "" if v is not None else "no samples")


class Frame:
    def __init__(self, columns: Columns | None) -> None:
        self.columns = columns

    def load(self, start: datetime | None, end: datetime | None) -> Columns:
        if self.columns is None:
            raise DataUnavailable("no predictions logged yet")
        return self.columns


CAND, BASE = Side({"revision": "cand"}), Side({"revision": "base"})


def test_latency_within_and_beyond_the_allowed_increase() -> None:
    ok = compare_latency(Values(cand=0.11, base=0.1), 99, 20, CAND, BASE, START, END)
    assert ok.verdict is Verdict.SUCCESSFUL
    bad_provider = Values(cand=0.13, base=0.1)
    bad = compare_latency(bad_provider, 99, 20, CAND, BASE, START, END)
    assert bad.verdict is Verdict.FAILED
    assert bad.message == "shadow.latencyP99 = 0.13s is more than 20% above stable's 0.1s"
    assert bad_provider.seen == [("latencyP99", "cand"), ("latencyP99", "base")]


def test_missing_data_is_inconclusive_and_says_which_side() -> None:
    out = compare_error_rate(Values(cand=0.01), 0.01, CAND, BASE, START, END)
    assert out.verdict is Verdict.INCONCLUSIVE
    assert out.message == "shadow.errorRate: no data (stable: no samples)"


def test_error_rate_increase_is_absolute_points() -> None:
    assert (
        compare_error_rate(Values(cand=0.019, base=0.01), 0.01, CAND, BASE, START, END).verdict
        is Verdict.SUCCESSFUL
    )
    failed = compare_error_rate(Values(cand=0.03, base=0.01), 0.01, CAND, BASE, START, END)
    assert failed.verdict is Verdict.FAILED
    assert "exceeds stable's 0.01 by more than 0.01" in failed.message


def test_prediction_distributions_compared_with_the_named_test() -> None:
    rng = np.random.default_rng(3)
    base = Side({}, Frame({"prediction": rng.normal(0, 1, 5000)}))
    same = Side({}, Frame({"prediction": rng.normal(0, 1, 5000)}))
    shifted = Side({}, Frame({"prediction": rng.normal(1.0, 1, 5000)}))
    args = ("prediction", FeatureKind.NUMERICAL, "wasserstein", 0.1, 1000)
    assert compare_predictions(*args, same, base, START, END).verdict is Verdict.SUCCESSFUL
    moved = compare_predictions(*args, shifted, base, START, END)
    assert moved.verdict is Verdict.FAILED
    assert moved.value is not None
    assert moved.value > 0.5
    missing = compare_predictions(*args, Side({}, Frame(None)), base, START, END)
    assert missing.verdict is Verdict.INCONCLUSIVE
    assert "no predictions logged yet" in missing.message
