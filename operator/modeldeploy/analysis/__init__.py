"""Analysis: metric checks (Prometheus, Azure Monitor, Log Analytics) and drift between reference and live
data, folded into one verdict per run. Entry point: ``run_analysis``; mapping to the CRD: ``from_spec``."""

from .drift import ReferenceProfile, compare, detect_drift, profile_reference
from .providers import MetricProvider, RetryPolicy
from .run import DriftAnalyzer, Sources, run_analysis
from .sources import DataSource, DataUnavailable
from .types import (
    AnalysisConfig,
    AnalysisResult,
    DriftConfig,
    DriftResult,
    FeatureConfig,
    MetricCheck,
    Verdict,
)

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "DataSource",
    "DataUnavailable",
    "DriftAnalyzer",
    "DriftConfig",
    "DriftResult",
    "FeatureConfig",
    "MetricCheck",
    "MetricProvider",
    "ReferenceProfile",
    "RetryPolicy",
    "Sources",
    "Verdict",
    "compare",
    "detect_drift",
    "profile_reference",
    "run_analysis",
]
