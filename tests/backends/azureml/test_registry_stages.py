"""Stage tags on registered versions, on in-memory model operations that keep the SDK's own entities:
promote, archive, stage, release (rollback), restart-safe repeats, workspace and registry models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from modeldeploy.api.spec import AzureMLTarget
from modeldeploy.api.status import ModelDeploymentStatus, ModelStages, StagedVersion
from modeldeploy.backends.azureml.registry import AzureMLModelRegistry, ModelRef
from modeldeploy.controller.stages import sync_stages
from modeldeploy.ports import BackendError, Owner
from modeldeploy.rollout.actions import SyncStages
from tests.backends.azureml.model_fakes import FakeModels
from tests.backends.azureml.rig import example_spec
from tests.controller.fakes import FakeEvents

OWNER = Owner("ml-serving", "budget-optimizer", "uid-1")
WHO = "ml-serving/budget-optimizer"
T1 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 2, 9, 10, 30, tzinfo=UTC)
SPEC = example_spec("budget-optimizer")


class Scopes:
    """The workspace's model operations and one shared registry's, as ``models_for`` hands them out."""

    def __init__(self) -> None:
        self.workspace = FakeModels()
        self.registry = FakeModels(registry="kdap-prod-models")
        self.asked: list[str | None] = []

    def __call__(self, target: AzureMLTarget, registry: str | None) -> Any:
        self.asked.append(registry)
        return self.registry if registry == "kdap-prod-models" else self.workspace


@pytest.fixture
def scopes() -> Scopes:
    s = Scopes()
    for v in ("1", "2", "3"):
        s.workspace.register("budget", v, tags={"team": "growth"}, description="LightGBM budget optimizer")
        s.registry.register("budget", v)
    return s


def v(version: str, revision: str, since: datetime | None = None) -> StagedVersion:
    return StagedVersion(ref=f"azureml:budget:{version}", revision=revision, since=since)


def sync(scopes: Scopes, desired: ModelStages, *release: StagedVersion, now: datetime = T1) -> str:
    return AzureMLModelRegistry(scopes).sync(OWNER, SPEC, SyncStages(desired, release), now)


def test_promotion_tags_production_and_archives_the_previous_production_version(scopes: Scopes) -> None:
    ws = scopes.workspace
    assert sync(scopes, ModelStages(staging=v("1", "r1"))) == "azureml:budget:1 staging"
    assert ws.tags("budget", "1") == {
        "team": "growth", "stage": "staging", "modeldeployment": WHO, "revision": "r1",
        "previous-stage": "none",
    }  # fmt: skip
    assert ws.stage("budget", "1") == "Staging"
    assert sync(scopes, ModelStages(production=v("1", "r1", T1))) == "azureml:budget:1 production"
    assert ws.tags("budget", "1") == {
        "team": "growth", "stage": "production", "modeldeployment": WHO, "revision": "r1",
        "promoted-at": "2026-01-05T09:00:00Z", "release": "v2026.01.production",
    }  # fmt: skip
    assert ws.stage("budget", "1") == "Production"
    sync(scopes, ModelStages(production=v("1", "r1", T1), staging=v("2", "r2")))
    summary = sync(scopes, ModelStages(production=v("2", "r2", T2)), now=T2)
    assert summary == "azureml:budget:2 production; budget:1 archived"
    assert ws.tags("budget", "1")["stage"] == "archived"
    assert ws.tags("budget", "1")["archived-at"] == "2026-02-09T10:30:00Z"
    assert ws.stage("budget", "1") == "Archived"
    assert ws.tags("budget", "2")["promoted-at"] == "2026-02-09T10:30:00Z"
    assert "previous-stage" not in ws.tags("budget", "2")
    assert ws.get("budget", "2").description == "LightGBM budget optimizer", (
        "nothing but stage and tags changes"
    )
    assert ws.tags("budget", "3") == {"team": "growth"}


def test_a_repeated_sync_after_a_restart_writes_nothing(scopes: Scopes) -> None:
    state = ModelStages(production=v("1", "r1", T1), staging=v("2", "r2"))
    sync(scopes, state)
    writes = len(scopes.workspace.writes)
    assert sync(scopes, state) == ""
    assert len(scopes.workspace.writes) == writes


def test_a_rollback_sets_the_tags_back(scopes: Scopes) -> None:
    ws = scopes.workspace
    sync(scopes, ModelStages(production=v("1", "r1", T1)))
    before = ws.tags("budget", "2")
    sync(scopes, ModelStages(production=v("1", "r1", T1), staging=v("2", "r2")))
    summary = sync(scopes, ModelStages(production=v("1", "r1", T1)), v("2", "r2"))
    assert summary == "azureml:budget:2 back to none"
    assert ws.tags("budget", "2") == before
    assert ws.stage("budget", "2") is None
    assert ws.tags("budget", "1")["stage"] == "production"


def test_reverting_git_to_an_archived_version_restages_it_and_a_failure_returns_it_to_archived(
    scopes: Scopes,
) -> None:
    ws = scopes.workspace
    sync(scopes, ModelStages(production=v("1", "r1", T1)))
    sync(scopes, ModelStages(production=v("2", "r2", T2)), now=T2)
    sync(scopes, ModelStages(production=v("2", "r2", T2), staging=v("1", "r1b")))
    assert ws.tags("budget", "1")["previous-stage"] == "archived"
    sync(scopes, ModelStages(production=v("2", "r2", T2)), v("1", "r1b"))
    assert ws.tags("budget", "1")["stage"] == "archived"
    assert ws.stage("budget", "1") == "Archived"


def test_registry_models_are_tagged_in_their_registry(scopes: Scopes) -> None:
    ref = "azureml://registries/kdap-prod-models/models/budget/versions/3"
    prod = StagedVersion(ref=ref, revision="r3", since=T1)
    assert sync(scopes, ModelStages(production=prod)) == f"{ref} production"
    assert scopes.registry.tags("budget", "3")["stage"] == "production"
    assert scopes.workspace.writes == []
    assert scopes.asked == ["kdap-prod-models"]


def test_versions_another_modeldeployment_holds_are_left_alone(scopes: Scopes) -> None:
    ws = scopes.workspace
    other = {"stage": "production", "modeldeployment": "team-b/budget-eu", "revision": "x"}
    ws.register("budget", "4", tags=dict(other), stage="Production")
    sync(scopes, ModelStages(production=v("1", "r1", T1)))
    assert ws.tags("budget", "4") == other, "not ours to archive"
    assert sync(scopes, ModelStages(production=v("1", "r1", T1), staging=v("4", "r4"))) == (
        "azureml:budget:4 left production for team-b/budget-eu"
    )
    assert ws.tags("budget", "4") == other


def test_refs_parse_and_a_bad_one_is_refused() -> None:
    assert ModelRef.parse("azureml:budget:7") == ModelRef("budget", "7")
    assert ModelRef.parse("azureml://registries/r1/models/budget/versions/7") == ModelRef("budget", "7", "r1")
    with pytest.raises(
        BackendError, match="'models:/budget/7' is not azureml:name:version or a registry URI"
    ):
        ModelRef.parse("models:/budget/7")


def test_a_refusal_is_an_event_and_nothing_is_recorded(scopes: Scopes) -> None:
    events = FakeEvents()
    action = SyncStages(ModelStages(production=v("9", "r9", T1)))
    status = ModelDeploymentStatus()
    out = sync_stages(AzureMLModelRegistry(scopes), events, OWNER, SPEC, action, T1, status)
    assert out is None
    ((_kind, reason, message),) = events.events
    assert reason == "StageTaggingFailed"
    assert message.startswith("registry stages not applied (retried in 30s): ")
    assert "model budget:9 not found" in message
    ok = sync_stages(
        AzureMLModelRegistry(scopes),
        events,
        OWNER,
        SPEC,
        SyncStages(ModelStages(production=v("1", "r1", T1))),
        T1,
        status,
    )
    assert ok is not None
    assert ok.stages == ModelStages(production=v("1", "r1", T1))
    assert events.events[-1][1:] == ("StagesTagged", "azureml:budget:1 production")
