"""Retraining pipeline inputs at submission (#13 review): a data input (uri_folder, uri_file, a model) given a
string that is not a URI or an asset is a path azure-ai-ml uploads from the operator's own filesystem (a bare
"var", relative to its working directory, is a folder holding its ServiceAccount token). The policy check
refuses what looks like a path; the submission, which knows each input's type, refuses the rest."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from azure.ai.ml import Input

from modeldeploy.controller.azureml_jobs import submit_pipeline
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.actions import FireRetraining
from tests.security.policy_cases import spec


def _submit(monkeypatch: pytest.MonkeyPatch, **inputs: str) -> tuple[str, list[Any]]:
    calls: list[Any] = []

    class Component:
        inputs = {
            "data": Input(type="uri_folder"),
            "model": Input(type="mlflow_model"),
            "rate": Input(type="number"),
        }

        def __call__(self, **given: Any) -> SimpleNamespace:
            calls.append(("component", given))
            return SimpleNamespace()

    class MLClient:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.components = SimpleNamespace(get=lambda name, version: Component())
            self.jobs = SimpleNamespace(
                create_or_update=lambda node, experiment_name: (
                    calls.append("job") or SimpleNamespace(name="j1")
                )
            )

    monkeypatch.setattr("azure.ai.ml.MLClient", MLClient)
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", lambda: None)
    pipeline = {"component": "azureml:retrain-budget:3", "experimentName": "retrain", "inputs": inputs}
    s = spec(**{"rollback.retrain.azuremlPipeline": pipeline})
    assert s.rollback.retrain is not None
    assert s.rollback.retrain.azureml_pipeline is not None
    job = s.rollback.retrain.azureml_pipeline
    done = submit_pipeline(Owner("team-a", "budget", "uid-1"), s, FireRetraining("r1", "d1"), job)
    return done, calls


@pytest.mark.parametrize("value", ["var", "token", "etc", "C:x"])
def test_a_data_input_that_is_no_uri_is_refused_before_anything_is_uploaded(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    with pytest.raises(BackendError) as err:
        _submit(monkeypatch, data=value, rate="0.5")
    assert err.value.reason == "RetrainingInputInvalid"
    assert not err.value.retryable
    assert err.value.message == (
        "rollback.retrain.azuremlPipeline.inputs.data: the component's uri_folder input needs a data URI or "
        "an Azure ML asset (azureml:, azureml://, https://, abfss://, wasbs://, runs:/, models:/); "
        f"{value!r} would be uploaded from the operator's filesystem"
    )


def test_uris_assets_and_literals_are_submitted(monkeypatch: pytest.MonkeyPatch) -> None:
    done, calls = _submit(
        monkeypatch,
        data="abfss://training@acct1.dfs.core.windows.net/team-a/x",
        model="azureml:budget:3",
        rate="var",  # a number input: a literal, never a path
    )
    assert done == "Azure ML job j1"
    assert calls[0][1]["data"] == "abfss://training@acct1.dfs.core.windows.net/team-a/x"
    assert calls[-1] == "job"
