"""Registry stages derived from the status: production follows the stable revision, staging the candidate,
and a failed candidate's version is released; a sync is asked for until the status records it applied."""

from __future__ import annotations

from rollout_world import World, desired

from modeldeploy.api.status import ModelStages, StagedVersion, Verdict
from modeldeploy.rollout.actions import SyncStages
from modeldeploy.rollout.plan import RolloutPlan, canary_steps

V1, V2 = desired("v1"), desired("v2")


def plan() -> RolloutPlan:
    return RolloutPlan(steps=canary_steps((10,), 60), tag_stages=True)


def syncs(w: World) -> list[SyncStages]:
    return [a for a in (w.last.actions if w.last else ()) if isinstance(a, SyncStages)]


def test_the_first_revision_is_production_since_its_promotion_and_the_sync_is_asked_once() -> None:
    w = World(plan=plan())
    w.run(30)
    assert w.status.stable is not None
    promoted_at = w.status.stable.promoted_at
    assert promoted_at is not None
    production = StagedVersion(ref="azureml:fraud:1", revision=V1.name, since=promoted_at)
    assert w.status.stages == ModelStages(production=production)
    assert [s.desired for s in w.syncs] == [
        ModelStages(
            staging=StagedVersion(ref="azureml:fraud:1", revision=V1.name, since=w.status.stable.created_at)
        ),
        ModelStages(production=production),
    ]
    w.run(120)
    assert len(w.syncs) == 2, "nothing changed: nothing asked"


def test_a_candidate_is_staging_then_production_and_the_old_one_drops_out() -> None:
    w = World(plan=plan())
    w.run(30)
    w.set_model("v2")
    w.run(20)
    assert w.candidate() == V2.name
    assert w.status.stages is not None
    assert w.status.stages.staging is not None
    assert (w.status.stages.staging.ref, w.status.stages.staging.revision) == ("azureml:fraud:2", V2.name)
    assert w.status.stages.production is not None
    assert w.status.stages.production.revision == V1.name
    w.run(200)
    assert w.stable() == V2.name
    assert w.status.stages.production is not None  # type: ignore[union-attr]
    assert w.status.stages.production.ref == "azureml:fraud:2"  # type: ignore[union-attr]
    assert w.status.stages.staging is None  # type: ignore[union-attr]
    assert all(s.release == () for s in w.syncs), "a promoted candidate is not released"


def test_a_failed_candidate_is_released_and_production_stays() -> None:
    w = World(plan=plan())
    w.run(30)
    w.verdicts["v2"] = Verdict.FAILED
    w.set_model("v2")
    w.run(120)
    assert w.status.failed_revisions[-1].name == V2.name
    last = w.syncs[-1]
    assert [v.revision for v in last.release] == [V2.name]
    assert last.desired.staging is None
    assert last.desired.production is not None
    assert last.desired.production.revision == V1.name


def test_a_crash_before_the_sync_asks_again() -> None:
    w = World(plan=plan())
    w.tick(0)
    w.tick(10, keep=0)  # status written (promoted), then the process died: no action ran
    assert w.status.stable is not None
    assert w.status.stages is None or w.status.stages.production is None
    w.tick(1)
    assert [type(a) for a in syncs(w)] == [SyncStages]
    assert w.status.stages is not None
    assert w.status.stages.production is not None


def test_without_tag_stages_no_sync_is_asked() -> None:
    w = World(plan=RolloutPlan(steps=canary_steps((10,), 60)))
    w.run(30)
    w.set_model("v2")
    w.run(200)
    assert w.syncs == []
    assert w.status.stages is None


def test_turning_tag_stages_on_later_tags_the_revision_already_serving() -> None:
    w = World(plan=RolloutPlan(steps=canary_steps((10,), 60)))
    w.run(30)
    assert w.status.stable is not None
    w.status = w.status.model_copy(update={"stable": w.status.stable.model_copy(update={"model_ref": None})})
    w.plan = plan()
    w.tick(10)
    assert [s.desired.production.ref for s in w.syncs if s.desired.production] == ["azureml:fraud:1"]
    assert w.syncs[-1].desired.production.revision == V1.name  # type: ignore[union-attr]
