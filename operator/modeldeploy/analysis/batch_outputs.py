"""What a batch model's data says: a validation run's output against the default revision's (row counts and
the drift engine's test on the prediction column), and which files arrived under a watched folder.

Both read through the ``Locator`` the drift engine uses, so the policy guard, ``--data-root`` and the size
caps apply as they do to drift data. Nothing here raises for bad data: an unreadable output is an
Inconclusive comparison (the machine looks again, then fails the revision).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from modeldeploy.api.batch import PredictionCheck
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import Verdict
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.batch_types import ComparisonSeen

from .stores import DataUnavailable

if TYPE_CHECKING:  # the readers load numpy and pyarrow: only on a batch model's first comparison or poll
    from .stores import Store
    from .types import Columns
    from .uris import Locator

# A poll lists the folder once; at most this many names are returned past the watermark (the machine runs
# batch.dataArrival.maxFilesPerRun of them, the rest wait for the next poll).
MAX_ARRIVALS = 1000


def _read(locator: Locator, uri: str, columns: Sequence[str] | None) -> tuple[int, Columns]:
    from .sources import data_files, read_files, to_columns

    store, path = locator.locate(uri)
    names = data_files(store, path)
    if not names:
        raise DataUnavailable(f"no output at {store.describe(path)} yet")
    table = read_files(store, names, "csv", store.describe(path), columns)
    return table.num_rows, to_columns(table)


def compare_outputs(
    locator: Locator,
    stable_uri: str,
    candidate_uri: str,
    check: PredictionCheck,
    columns: Sequence[str] | None = None,
) -> ComparisonSeen:
    """Row counts of both outputs and the prediction column's drift test (stable is the reference). Failed
    only on the drift test; row counts are judged by the machine. ``columns``: the outputs have no header
    row (``batch.output.columns``)."""
    from .drift import detect_drift
    from .from_spec import TEST_METHODS
    from .types import DriftConfig, FeatureConfig, FeatureKind

    try:
        stable_rows, stable = _read(locator, stable_uri, columns)
        cand_rows, cand = _read(locator, candidate_uri, columns)
    except DataUnavailable as exc:
        return ComparisonSeen(Verdict.INCONCLUSIVE, str(exc))
    counts = f"rows: default {stable_rows}, candidate {cand_rows}"
    kind = FeatureKind.NUMERICAL if check.type == "numerical" else FeatureKind.CATEGORICAL
    config = DriftConfig(
        features=(FeatureConfig(check.column, kind, TEST_METHODS[check.test], check.threshold),),
        drift_share=1.0,
        min_samples=check.min_samples,
    )
    try:
        result = detect_drift(config, stable, cand)
    except ValueError as exc:
        return ComparisonSeen(Verdict.FAILED, f"{counts}; predictions: {exc}", stable_rows, cand_rows)
    f = result.features[0] if result.features else None
    if f is None or f.verdict not in (Verdict.SUCCESSFUL, Verdict.FAILED):
        # Too few rows, or no prediction column: not a comparison, so never a pass.
        why = result.message if f is None else f"{f.verdict.value} ({result.message})"
        return ComparisonSeen(
            Verdict.FAILED, f"{counts}; predictions not comparable: {why}", stable_rows, cand_rows
        )
    text = (
        f"{counts}; {check.test} on {check.column!r} = {f.statistic or 0:g} (threshold {check.threshold:g})"
    )
    if f.verdict is Verdict.FAILED:
        return ComparisonSeen(
            Verdict.FAILED, f"predictions differ: {text}", stable_rows, cand_rows, f.statistic
        )
    return ComparisonSeen(Verdict.SUCCESSFUL, text, stable_rows, cand_rows, f.statistic)


def arrivals(locator: Locator, uri: str, watermark: str | None) -> tuple[str, ...]:
    """Data files under ``uri`` whose names (relative to it) sort above ``watermark``, in order."""
    store, path = locator.locate(uri)
    names = _relative(store, path)
    if watermark is None:
        return tuple(names[-1:])  # the first poll only sets the watermark: the newest name is enough
    return tuple(n for n in names if n > watermark)[:MAX_ARRIVALS]


def _relative(store: Store, path: str) -> list[str]:
    from .sources import data_files

    folder = path.rstrip("/")
    cut: Callable[[str], str] = lambda n: n[len(folder) + 1 :] if n.startswith(folder + "/") else n  # noqa: E731
    return sorted(cut(n) for n in data_files(store, path))


class BatchDataReader:
    """``ports.BatchData`` over the analysis service's locator (policy guard, data root, workspace)."""

    def __init__(self, locator_for: Callable[[Owner, ModelDeploymentSpec], Locator]) -> None:
        self._locator_for = locator_for

    def compare(
        self, owner: Owner, spec: ModelDeploymentSpec, stable_output: str, candidate_output: str
    ) -> ComparisonSeen:
        rollout = spec.batch.rollout if spec.batch is not None else None
        check = rollout.predictions if rollout is not None else PredictionCheck()
        columns = spec.batch.output.columns if spec.batch is not None else None
        return compare_outputs(
            self._locator_for(owner, spec), stable_output, candidate_output, check, columns
        )

    def arrivals(self, owner: Owner, spec: ModelDeploymentSpec, watermark: str | None) -> tuple[str, ...]:
        arrival = spec.batch.data_arrival if spec.batch is not None else None
        if arrival is None:
            return ()
        try:
            return arrivals(self._locator_for(owner, spec), arrival.uri, watermark)
        except DataUnavailable as exc:
            raise BackendError("DataArrivalUnreadable", f"batch.dataArrival.uri: {exc}") from exc
