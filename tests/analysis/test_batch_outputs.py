"""Comparing two batch outputs with the drift engine, and listing arrivals above a watermark, on files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modeldeploy.analysis.batch_outputs import BatchDataReader, arrivals, compare_outputs
from modeldeploy.analysis.uris import Locator
from modeldeploy.api.batch import PredictionCheck
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.api.status import Verdict
from modeldeploy.ports import Owner
from tests.api.batch_cases import batch_kubernetes


def _write(folder: Path, values: np.ndarray) -> str:
    folder.mkdir(parents=True)
    rows = "\n".join(f"{i},{v:.6f}" for i, v in enumerate(values))
    (folder / "predictions.csv").write_text("id,prediction\n" + rows + "\n")
    return f"file://{folder}/"


def test_same_predictions_pass_and_shifted_ones_fail(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    stable = _write(tmp_path / "s", rng.beta(2, 5, 2000))
    same = _write(tmp_path / "c1", rng.beta(2, 5, 2000))
    shifted = _write(tmp_path / "c2", rng.beta(5, 2, 2000))
    locator = Locator(data_root=str(tmp_path))
    ok = compare_outputs(locator, stable, same, PredictionCheck())
    assert ok.verdict is Verdict.SUCCESSFUL, ok.message
    assert (ok.stable_rows, ok.candidate_rows) == (2000, 2000)
    bad = compare_outputs(locator, stable, shifted, PredictionCheck())
    assert bad.verdict is Verdict.FAILED
    assert bad.message.startswith(
        "predictions differ: rows: default 2000, candidate 2000; jensenShannon on 'prediction'"
    )
    assert bad.prediction_statistic is not None
    assert bad.prediction_statistic > 0.1


def test_a_missing_output_is_inconclusive_and_too_few_rows_never_pass(tmp_path: Path) -> None:
    locator = Locator(data_root=str(tmp_path))
    stable = _write(tmp_path / "s", np.linspace(0, 1, 100))
    missing = compare_outputs(locator, stable, f"file://{tmp_path}/nothing/", PredictionCheck())
    assert missing.verdict is Verdict.INCONCLUSIVE
    assert "no output at" in missing.message
    few = _write(tmp_path / "few", np.linspace(0, 1, 10))
    small = compare_outputs(locator, stable, few, PredictionCheck(min_samples=50))
    assert small.verdict is Verdict.FAILED
    assert "predictions not comparable" in small.message


def test_arrivals_above_the_watermark_in_name_order(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    (incoming / "2026" / "11").mkdir(parents=True)
    for name in ("2026/11/0001.csv", "2026/11/0002.csv", "2026/11/0003.parquet", "2026/11/_SUCCESS"):
        (incoming / name).write_text("x\n1\n")
    locator = Locator(data_root=str(tmp_path))
    uri = f"file://{incoming}/"
    assert arrivals(locator, uri, None) == ("2026/11/0003.parquet",)
    assert arrivals(locator, uri, "2026/11/0001.csv") == ("2026/11/0002.csv", "2026/11/0003.parquet")


def test_the_reader_goes_through_the_policy_guard(tmp_path: Path) -> None:
    import pytest

    from modeldeploy.ports import BackendError

    spec = ModelDeploymentSpec.model_validate(batch_kubernetes())
    reader = BatchDataReader(
        lambda owner, s: Locator(data_root=str(tmp_path), guard=lambda uri: f"{uri}: refused")
    )
    with pytest.raises(BackendError, match=r"batch.dataArrival.uri: file:///data/churn/incoming/: refused"):
        reader.arrivals(Owner("ml", "churn", "u"), spec, "a")


def test_a_headerless_output_is_read_by_the_columns_the_spec_names(tmp_path: Path) -> None:
    """Azure ML's append_row file has no header row: read as is, its first row would name the columns (one
    row short, no prediction column); with batch.output.columns every row is data."""
    rng = np.random.default_rng(11)

    def headerless(folder: Path, values: np.ndarray) -> str:
        folder.mkdir(parents=True)
        (folder / "predictions.csv").write_text("".join(f"{i},{v:.6f}\n" for i, v in enumerate(values)))
        return f"file://{folder}/"

    stable = headerless(tmp_path / "s", rng.beta(2, 5, 600))
    cand = headerless(tmp_path / "c", rng.beta(2, 5, 600))
    locator = Locator(data_root=str(tmp_path))
    blind = compare_outputs(locator, stable, cand, PredictionCheck())
    assert blind.verdict is Verdict.FAILED
    assert blind.stable_rows == 599
    named = compare_outputs(locator, stable, cand, PredictionCheck(), ["id", "prediction"])
    assert named.verdict is Verdict.SUCCESSFUL, named.message
    assert (named.stable_rows, named.candidate_rows) == (600, 600)
    body = batch_kubernetes()
    body["batch"]["output"]["columns"] = ["id", "prediction"]
    spec = ModelDeploymentSpec.model_validate(body)
    reader = BatchDataReader(lambda owner, s: locator)
    via_spec = reader.compare(Owner("ml", "churn", "u"), spec, stable, cand)
    assert (via_spec.verdict, via_spec.stable_rows) == (Verdict.SUCCESSFUL, 600)  # the spec's names reach it
