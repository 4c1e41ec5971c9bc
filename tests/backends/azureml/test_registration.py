"""model.registration on in-memory model operations keeping the SDK's Model entities: metadata, numbering,
idempotence across restarts, and the semantic-version refusals with their messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from modeldeploy.api.spec import AzureMLTarget, ModelDeploymentSpec
from modeldeploy.api.status import Phase
from modeldeploy.backends.azureml.registration import AzureMLRegistrar, semver_problem
from modeldeploy.controller.reconciler import Reconciler
from modeldeploy.controller.translate import desired_revision
from modeldeploy.ports import Owner, RegistrationRefused
from tests.backends.azureml.model_fakes import FakeModels
from tests.backends.azureml.rig import example_manifest
from tests.controller.fakes import FakeBackend, FakeEvents, FakeStore, FixedAnalysis, NoRetraining

OWNER = Owner("ml-serving", "budget-optimizer", "uid-1")
ARTIFACT = "https://kdapmodels.blob.core.windows.net/models/budget-optimizer/{v}/model.txt"
REGISTER = {
    "description": "LightGBM regression of campaign budget",
    "trainingData": "azureml:budget-training:12",
    "metrics": [{"name": "rmse", "value": 0.183}, {"name": "r2", "value": 0.91}],
    "features": [{"name": "spend", "type": "number"}, {"name": "channel", "type": "category"}],
    "requirements": "2 vCPU, 4 GiB; no GPU",
}


def spec_manifest(version: str, artifact: str | None = None, **register: Any) -> dict[str, Any]:
    m = example_manifest("budget-optimizer")["spec"]
    m["model"] |= {"version": version, "artifactUri": artifact or ARTIFACT.format(v=version)}
    m["model"].pop("registry")
    m.pop("validation", None)  # validation has its own tests; these reconcile without a validator
    m["model"]["registration"] = REGISTER | register
    return m


def spec(version: str, artifact: str | None = None, **register: Any) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(spec_manifest(version, artifact, **register))


class Scopes:
    def __init__(self) -> None:
        self.workspace, self.registry = FakeModels(), FakeModels(registry="kdap-prod-models")

    def __call__(self, target: AzureMLTarget, registry: str | None) -> FakeModels:
        return self.registry if registry else self.workspace


def test_the_first_registration_carries_seed_000s_metadata() -> None:
    s = Scopes()
    ref = AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0"))
    assert ref == "azureml:budget-optimizer:1"
    m = s.workspace.get("budget-optimizer", "1")
    assert m.path == ARTIFACT.format(v="1.4.0")
    assert m.description == "LightGBM regression of campaign budget"
    tags = m.tags
    assert tags["semver"] == "1.4.0"
    assert tags["training-data"] == "azureml:budget-training:12"
    assert (tags["metric.rmse"], tags["metric.r2"]) == ("0.183", "0.91")
    assert json.loads(tags["feature-schema"]) == [
        {"name": "spend", "type": "number"}, {"name": "channel", "type": "category"}
    ]  # fmt: skip
    assert tags["requirements"] == "2 vCPU, 4 GiB; no GPU"
    assert tags["registered-by"] == "ml-serving/budget-optimizer"


def test_a_restarted_operator_finds_its_registration_and_writes_nothing() -> None:
    s = Scopes()
    AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0"))
    assert AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0")) == "azureml:budget-optimizer:1"
    assert s.workspace.writes == [("budget-optimizer", "1")]


def test_the_next_version_is_numbered_above_every_existing_one() -> None:
    s = Scopes()
    s.workspace.register("budget-optimizer", "7")  # registered by a pipeline, no semver tag
    AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0"))
    assert AzureMLRegistrar(s).ensure(OWNER, spec("1.5.0")) == "azureml:budget-optimizer:9"


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("1.3.9", "model.version 1.3.9 is older than 1.4.0, already registered: versions only go forward"),
        ("3.0.0", "model.version 3.0.0 skips a major version after 1.4.0; set "
                  "model.registration.allowMajorSkip if that is intended"),
    ],
)  # fmt: skip
def test_backwards_and_skipped_majors_are_refused_with_the_reason(new: str, message: str) -> None:
    s = Scopes()
    AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0"))
    with pytest.raises(RegistrationRefused) as err:
        AzureMLRegistrar(s).ensure(OWNER, spec(new))
    assert err.value.message == message
    assert len(s.workspace.versions) == 1


def test_a_said_major_skip_and_a_next_major_pass() -> None:
    assert semver_problem("2.0.0", ["1.4.0"], allow_major_skip=False) is None
    assert semver_problem("3.0.0", ["1.4.0", "2.1.0"], allow_major_skip=False) is None
    assert semver_problem("4.0.0", ["1.4.0"], allow_major_skip=True) is None
    assert semver_problem("1.4.1-rc.1", ["1.4.0+build.7"], allow_major_skip=False) is None


def test_the_same_version_from_another_artifact_is_refused() -> None:
    s = Scopes()
    AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0"))
    with pytest.raises(
        RegistrationRefused,
        match=r"model.version 1.4.0 of budget-optimizer is already registered "
        r"\(version 1\) from https://.*/1.4.0/model.txt: a new artifact needs a new model.version",
    ):
        AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0", artifact="https://other.example/model.txt"))


def test_a_registry_registration_is_referenced_by_its_registry_uri() -> None:
    s = Scopes()
    ref = AzureMLRegistrar(s).ensure(OWNER, spec("1.4.0", registry="kdap-prod-models"))
    assert ref == "azureml://registries/kdap-prod-models/models/budget-optimizer/versions/1"
    assert s.workspace.writes == []


def _reconcile(s: Scopes, manifest: dict[str, Any], backend: FakeBackend, store: FakeStore) -> FakeEvents:
    events = FakeEvents()
    r = Reconciler(
        lambda owner, spec: backend, store, events, FixedAnalysis(), NoRetraining(),
        clock=lambda: datetime(2026, 1, 5, tzinfo=UTC), registrar=AzureMLRegistrar(s),
    )  # fmt: skip
    meta = {"namespace": OWNER.namespace, "name": OWNER.name, "uid": OWNER.uid, "generation": 1}
    for _ in range(2):
        body = {"metadata": meta | {"resourceVersion": str(store.version)}, "spec": manifest}
        r.reconcile(body | {"status": store.status.to_body()})
    return events


def test_the_reconciler_serves_the_registered_version_and_refuses_a_backwards_spec_in_spec_valid() -> None:
    s, backend, store = Scopes(), FakeBackend(), FakeStore()
    _reconcile(s, spec_manifest("1.4.0"), backend, store)
    assert store.status.phase is Phase.PROMOTED
    served = spec("1.4.0")
    served = served.model_copy(
        update={
            "model": served.model.model_copy(
                update={"registry": "azureml:budget-optimizer:1", "artifact_uri": None}
            )
        }
    )
    assert store.status.stable is not None
    assert store.status.stable.name == desired_revision(OWNER.name, served).name, (
        "the registered version serves"
    )
    s.workspace.register("budget-optimizer", "5", tags={"semver": "2.0.0", "artifact": "x"})
    events = _reconcile(s, spec_manifest("1.5.0"), backend, store)
    cond = next(c for c in store.status.conditions if c.type == "SpecValid")
    assert (cond.status, cond.reason) == ("False", "RegistrationRefused")
    assert (
        cond.message
        == "model.version 1.5.0 is older than 2.0.0, already registered: versions only go forward"
    )
    assert "RegistrationRefused" in [reason for _, reason, _ in events.events]
    assert store.status.phase is Phase.PROMOTED, "the stable revision keeps serving"
