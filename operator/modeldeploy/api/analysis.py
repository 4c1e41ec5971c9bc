"""What decides a rollout: metric checks against thresholds, and drift between reference and live data."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from . import patterns
from .base import ApiModel, cel
from .compare import Compare
from .duration import Bounds, Duration

BuiltinMetric = Literal["errorRate", "latencyP50", "latencyP90", "latencyP95", "latencyP99", "requestRate"]
NumericalTest = Literal["ks", "psi", "jensenShannon", "wasserstein"]
CategoricalTest = Literal["chiSquared", "psi", "jensenShannon"]

# Thresholds when a feature leaves them out. ks and chiSquared are p-values (drift when p < threshold); the
# rest are distances (drift when distance >= threshold): Wasserstein normalised by the reference std.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05, "chiSquared": 0.05, "psi": 0.2, "jensenShannon": 0.1, "wasserstein": 0.1,
}  # fmt: skip
P_VALUE_TESTS = frozenset({"ks", "chiSquared"})
# Features one drift analysis tests: the spec's lists together, and the operator's cap when a spec names
# none (a prediction-only spec would otherwise test every column of whatever file it is pointed at).
MAX_FEATURES = 256

_NAME = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", max_length=128)]
# Without a test the engine picks one by type and sample size (a p-value test or a distance), so a
# threshold could mean either: it needs its test named.
_THRESHOLD_RULE = (
    "!has(self.threshold) || (has(self.test) && ((self.test == 'ks' || self.test == 'chiSquared') ? "
    "self.threshold < 1.0 : (self.test == 'jensenShannon' ? self.threshold <= 1.0 : true)))"
)
_THRESHOLD_MESSAGE = (
    "threshold needs test, and must be a p-value below 1 for ks and chiSquared, and at most 1 for "
    "jensenShannon"
)


def _threshold_in_range(test: str | None, threshold: float | None) -> bool:
    if threshold is None:
        return True
    if test is None:
        return False
    if test in P_VALUE_TESTS:
        return threshold < 1
    return test != "jensenShannon" or threshold <= 1


def _threshold_rule(where: str) -> Callable[[Any], bool]:
    """The threshold-range rule for the feature block at ``where`` (each names its own path)."""

    @cel(_THRESHOLD_RULE, f"{where}.{_THRESHOLD_MESSAGE}", field_path=".threshold")
    def check(self: Any) -> bool:
        return _threshold_in_range(self.test, self.threshold)

    return check


class _Thresholds:
    """The threshold a model with ``test`` and ``threshold`` fields uses: its own, or the test's default."""

    if TYPE_CHECKING:
        test: str | None
        threshold: float | None

    def effective_threshold(self) -> float | None:
        """None when the test is left to the engine, which holds its choice to that test's default."""
        if self.threshold is not None or self.test is None:
            return self.threshold
        return DEFAULT_THRESHOLDS[self.test]


class Metric(ApiModel):
    """One check: a named built-in or a query, against a minimum and/or a maximum."""

    name: _NAME
    provider: Literal["azureMonitor", "prometheus", "logAnalytics"] = Field(
        description="azureMonitor: Azure ML endpoint metrics. prometheus: PromQL. logAnalytics: KQL over the "
        "target's Log Analytics workspace, or for a serverless target a named query of the LLM API's token "
        "metrics for the revision (tokensPerRequest, promptTokensPerRequest, completionTokensPerRequest, "
        "requestRate)."
    )
    builtin: BuiltinMetric | None = None
    query: str | None = Field(
        None, min_length=1, max_length=4096, description="PromQL or KQL returning one number."
    )
    compare: Compare | None = Field(
        None, description="Also judge the candidate against stable on the same window (errorRate, latencies)."
    )
    min: float | None = Field(None, description="Fails below this value.")
    max: float | None = Field(None, description="Fails above this value.")
    failure_limit: int = Field(
        0,
        ge=0,
        le=100,
        description="Failed measurements in a step tolerated before the metric fails (as Argo Rollouts: "
        "counted over the step, a success does not reset them; a tolerated failure never passes the step).",
    )
    inconclusive_limit: int = Field(
        0, ge=0, le=100, description="Inconclusive measurements (no data) in a step tolerated."
    )
    on_inconclusive: Literal["pause", "fail", "ignore"] = Field(
        "pause",
        description="Past inconclusiveLimit: pause for promote or abort, fail the metric, or ignore it "
        "(it no longer holds the step).",
    )

    @cel(
        "has(self.builtin) != has(self.query)",
        "analysis.metrics[].builtin or analysis.metrics[].query must be set, not both",
    )
    def _one_source(self) -> bool:
        return (self.builtin is None) != (self.query is None)

    @cel(
        "self.provider != 'logAnalytics' || has(self.query)",
        "analysis.metrics[] with provider logAnalytics need a query (KQL or a named LLM query), not a "
        "builtin",
    )
    def _log_analytics_is_a_query(self) -> bool:
        return self.provider != "logAnalytics" or self.query is not None

    @cel(
        "has(self.min) || has(self.max) || has(self.compare)",
        "analysis.metrics[] needs min, max or compare (or several)",
    )
    def _has_threshold(self) -> bool:
        return self.min is not None or self.max is not None or self.compare is not None

    @cel(
        "!has(self.compare) || (has(self.builtin) && ((self.provider == 'prometheus' && "
        "self.builtin != 'requestRate') || "
        "(self.provider == 'azureMonitor' && self.builtin == 'errorRate')))",
        "analysis.metrics[].compare needs builtin errorRate or a latency built-in on prometheus, or builtin "
        "errorRate on azureMonitor (their per-revision counts are what is compared; Azure Monitor keeps no "
        "latency histogram)",
    )
    def _comparable(self) -> bool:
        if self.compare is None:
            return True
        if self.provider == "azureMonitor":
            return self.builtin == "errorRate"
        return self.provider == "prometheus" and self.builtin not in (None, "requestRate")

    @cel(
        "!has(self.compare) || self.compare.test == 'auto' || "
        "((self.builtin == 'errorRate') == (self.compare.test == 'proportion'))",
        "analysis.metrics[].compare.test must suit the metric: proportion for errorRate, mannWhitney or "
        "welch for latencies",
    )
    def _test_suits_metric(self) -> bool:
        if self.compare is None or self.compare.test == "auto":
            return True
        return (self.builtin == "errorRate") == (self.compare.test == "proportion")

    @cel(
        "!has(self.min) || !has(self.max) || self.min <= self.max",
        "analysis.metrics[].min must not exceed max",
    )
    def _ordered(self) -> bool:
        return self.min is None or self.max is None or self.min <= self.max

    @cel(
        "!has(self.builtin) || self.builtin != 'errorRate' || ((!has(self.min) || (self.min >= 0.0 && "
        "self.min <= 1.0)) && (!has(self.max) || (self.max >= 0.0 && self.max <= 1.0)))",
        "analysis.metrics[] errorRate thresholds are fractions between 0 and 1 (0.01 = 1%)",
    )
    def _error_rate_fraction(self) -> bool:
        if self.builtin != "errorRate":
            return True
        return all(t is None or 0 <= t <= 1 for t in (self.min, self.max))


class DataRef(ApiModel):
    """A dataset: where it is (a file, folder or glob URI) and the format of its files."""

    uri: str = Field(pattern=patterns.DATA_URI, max_length=2048)
    format: Literal["parquet", "csv", "jsonl", "mltable"] = "parquet"


class LiveData(DataRef):
    """Where served requests land (e.g. the Azure ML data collector's model_inputs), read over ``window``."""

    window: Annotated[
        Duration, Bounds("analysis.drift.live.window", "1m", "168h", note=" (one folder per hour is read)")
    ] = "1h"


class NumericalFeature(ApiModel, _Thresholds):
    name: _NAME
    test: NumericalTest | None = Field(
        None, description="Left out: ks on small references, normalised wasserstein on large ones."
    )
    threshold: float | None = Field(
        None, gt=0, le=100, description="Defaults by test: ks 0.05, psi 0.2, others 0.1."
    )

    _threshold_range = _threshold_rule("analysis.drift.numerical[]")


class CategoricalFeature(ApiModel, _Thresholds):
    name: _NAME
    test: CategoricalTest | None = Field(
        None, description="Left out: chiSquared on small references, jensenShannon on large ones."
    )
    threshold: float | None = Field(
        None, gt=0, le=100, description="Defaults by test: chiSquared 0.05, psi 0.2, jensenShannon 0.1."
    )

    _threshold_range = _threshold_rule("analysis.drift.categorical[]")


class PredictionDrift(ApiModel, _Thresholds):
    """Drift of the model's own outputs: the earliest sign, often before any feature moves."""

    column: _NAME = "prediction"
    type: Literal["numerical", "categorical"] = "numerical"
    test: Literal["ks", "chiSquared", "psi", "jensenShannon", "wasserstein"] | None = Field(
        None, description="Left out: chosen by type and reference size, as for features."
    )
    threshold: float | None = Field(None, gt=0, le=100)

    @cel(
        "!has(self.test) || (self.type == 'numerical' ? self.test != 'chiSquared' : (self.test != 'ks' && "
        "self.test != 'wasserstein'))",
        "analysis.drift.prediction.test must suit its type: chiSquared is categorical-only, ks and "
        "wasserstein numerical-only",
        field_path=".test",
    )
    def _test_suits_type(self) -> bool:
        if self.test is None:
            return True
        if self.type == "numerical":
            return self.test != "chiSquared"
        return self.test not in ("ks", "wasserstein")

    _threshold_range = _threshold_rule("analysis.drift.prediction")


_FEATURE_LIST: dict[str, Any] = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}


class Drift(ApiModel):
    """Data drift between a reference dataset and live traffic; confirmed drift can roll back and retrain."""

    reference: DataRef
    live: LiveData
    interval: Annotated[Duration, Bounds("analysis.drift.interval", "1s", "24h")] = Field(
        "15m", description="How often drift is computed."
    )
    numerical: list[NumericalFeature] = Field(
        default_factory=list, max_length=256, json_schema_extra=_FEATURE_LIST
    )
    categorical: list[CategoricalFeature] = Field(
        default_factory=list, max_length=256, json_schema_extra=_FEATURE_LIST
    )
    prediction: PredictionDrift | None = None
    drifted_share_threshold: float = Field(
        0.5, gt=0, le=1, description="Dataset drift when at least this share of features drifts."
    )
    correction: Literal["none", "bonferroni", "benjaminiHochberg"] = Field(
        "benjaminiHochberg",
        description="Multiple-testing correction applied to p-value tests across features.",
    )
    min_sample_size: int = Field(1000, ge=30, le=100_000_000, description="Fewer live rows: no verdict.")
    confirmations: int = Field(
        2,
        ge=1,
        le=100,
        description="Drifted analyses in a row that confirm drift; until then a drifted analysis holds "
        "the step without failing it.",
    )

    @cel(
        "size(self.numerical) + size(self.categorical) > 0 || has(self.prediction)",
        "analysis.drift needs at least one numerical or categorical feature, or prediction",
    )
    def _something_watched(self) -> bool:
        return bool(self.numerical or self.categorical or self.prediction)

    @cel(
        f"size(self.numerical) + size(self.categorical) <= {MAX_FEATURES}",
        f"analysis.drift watches at most {MAX_FEATURES} features (numerical and categorical together)",
    )
    def _few_enough(self) -> bool:
        return len(self.numerical) + len(self.categorical) <= MAX_FEATURES

    @cel(
        "self.numerical.all(n, !self.categorical.exists(c, c.name == n.name))",
        "analysis.drift: a feature name may appear in numerical or in categorical, not both",
    )
    def _disjoint(self) -> bool:
        return not {f.name for f in self.numerical} & {f.name for f in self.categorical}


class Analysis(ApiModel):
    interval: Annotated[Duration, Bounds("analysis.interval", "1s", "1h")] = Field(
        "1m", description="How often metrics are measured."
    )
    prometheus_address: str | None = Field(
        None,
        pattern=patterns.HTTP_URL,
        max_length=512,
        description="Overrides the operator's Prometheus URL.",
    )
    metrics: list[Metric] = Field(default_factory=list, max_length=16, json_schema_extra=_FEATURE_LIST)
    drift: Drift | None = None

    @cel("size(self.metrics) > 0 || has(self.drift)", "analysis needs at least one of metrics or drift")
    def _not_empty(self) -> bool:
        return bool(self.metrics or self.drift)
