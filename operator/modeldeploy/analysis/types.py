"""The analysis engine's own inputs and outputs: small frozen dataclasses, independent of the CRD models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:  # only for the Column alias: importing numpy and pyarrow costs ~35 MB in the controller
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

# One verdict vocabulary from engine to status: the engine's results are stored as they are.
from modeldeploy.api.status import Comparison as Comparison
from modeldeploy.api.status import Verdict as Verdict

# A column as a data source hands it over: numpy for numbers, pyarrow for anything (strings stay in Arrow).
Column: TypeAlias = "npt.NDArray[np.generic] | pa.Array | pa.ChunkedArray"
Columns: TypeAlias = Mapping[str, Column]


class Correction(StrEnum):
    """Multiple-testing correction over the p-value tests of one analysis."""

    NONE = "none"
    BONFERRONI = "bonferroni"
    BENJAMINI_HOCHBERG = "benjamini-hochberg"


class FeatureKind(StrEnum):
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"


class DriftMethod(StrEnum):
    """``AUTO`` picks by type and reference size (see ``methods.choose_method``)."""

    AUTO = "auto"
    KS = "ks"
    WASSERSTEIN = "wasserstein"
    PSI = "psi"
    JENSEN_SHANNON = "jensenshannon"
    CHI_SQUARED = "chisquared"


# Tests whose decision is a p-value below alpha; the rest compare a distance against a bound.
P_VALUE_METHODS = frozenset({DriftMethod.KS, DriftMethod.CHI_SQUARED})
NUMERICAL_METHODS = frozenset(
    {DriftMethod.KS, DriftMethod.WASSERSTEIN, DriftMethod.PSI, DriftMethod.JENSEN_SHANNON}
)
CATEGORICAL_METHODS = frozenset({DriftMethod.CHI_SQUARED, DriftMethod.PSI, DriftMethod.JENSEN_SHANNON})


@dataclass(frozen=True)
class FeatureConfig:
    """One feature's test. ``kind=None`` infers it from the data; ``threshold=None`` takes the method's
    default (alpha for p-value tests, a distance bound otherwise)."""

    name: str
    kind: FeatureKind | None = None
    method: DriftMethod = DriftMethod.AUTO
    threshold: float | None = None


@dataclass(frozen=True)
class DriftConfig:
    """Dataset-level drift: drift when the share of drifted features reaches ``drift_share``.

    ``features`` empty means every column the reference and live windows share (minus the prediction
    columns). ``min_samples`` is per window and per feature after missing values are dropped.
    """

    features: tuple[FeatureConfig, ...] = ()
    prediction_features: tuple[FeatureConfig, ...] = ()
    drift_share: float = 0.5
    correction: Correction = Correction.NONE
    min_samples: int = 100
    n_bins: int = 10
    small_sample_rows: int = 1000  # reference size up to which AUTO picks hypothesis tests
    categorical_max_unique: int = 5  # numerical columns with this few distinct values are categorical
    block_features: int = 4  # numerical features sorted in one call; the live block is the largest array
    all_p_values: bool = False  # KS p-values for numerical features not tested by KS (slow at large n)


@dataclass(frozen=True)
class FeatureResult:
    """One feature's outcome. ``statistic`` is the value compared with ``threshold``: for KS and chi-squared
    the p-value after the multiple-testing correction (``p_value`` is the raw one). ``distances`` holds every
    statistic computed, so the report shows p-value and distance both."""

    feature: str
    kind: FeatureKind
    method: DriftMethod
    verdict: Verdict
    why: str = ""  # why this test: set in the spec, or chosen by type and reference size
    statistic: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    distances: Mapping[str, float] = field(default_factory=dict)
    reference_rows: int = 0
    live_rows: int = 0
    missing_reference: float = 0.0
    missing_live: float = 0.0
    message: str = ""
    engine: str = "in-process"  # which engine computed it and why (e.g. a Spark job for a large window)

    @property
    def drifted(self) -> bool:
        return self.verdict is Verdict.FAILED


@dataclass(frozen=True)
class DriftResult:
    verdict: Verdict
    features: tuple[FeatureResult, ...]
    predictions: tuple[FeatureResult, ...] = ()
    drifted_share: float = 0.0
    message: str = ""

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.drifted)


@dataclass(frozen=True)
class MetricValue:
    """A provider's answer: a value, or none with the reason (no data, timeout, unreachable). ``error``: the
    answer itself was wrong (not the API's JSON, too large): a misconfiguration, reported as an Error rather
    than waited out as missing data."""

    value: float | None
    message: str = ""
    error: bool = False


@dataclass(frozen=True)
class Series:
    """A provider's answer by label value (e.g. histogram buckets by ``le``), or none and why."""

    values: Mapping[str, float] | None
    message: str = ""
    error: bool = False


@dataclass(frozen=True)
class CompareCheck:
    """Judge the candidate against the stable revision (``baseline_params`` select it) on the same window.
    The names are the API's (``api.compare.Compare``)."""

    test: str = "auto"
    hypothesis: str = "nonInferiority"
    better: str = "lower"
    margin: float = 0.0
    alpha: float = 0.05
    min_samples: int = 1000
    baseline_params: Mapping[str, str] | None = None


@dataclass(frozen=True)
class MetricCheck:
    """A metric query and its bounds. The verdict is Failed outside [min, max]."""

    name: str
    provider: str
    query: str
    min: float | None = None
    max: float | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    compare: CompareCheck | None = None


@dataclass(frozen=True)
class MetricOutcome:
    name: str
    verdict: Verdict
    value: float | None = None
    message: str = ""
    comparison: Comparison | None = None


@dataclass(frozen=True)
class AnalysisConfig:
    metrics: tuple[MetricCheck, ...] = ()
    drift: DriftConfig | None = None
    window_seconds: float = 300.0


@dataclass(frozen=True)
class RunResult:
    verdict: Verdict
    metrics: tuple[MetricOutcome, ...] = ()
    drift: DriftResult | None = None
    message: str = ""
