"""Cost tags on what the operator creates in Azure: model and ModelDeployment always, team, cost center and
env from the namespace's labels (the platform contract), never at the expense of the ownership tags."""

from __future__ import annotations

from modeldeploy.api import platform
from modeldeploy.api.azure_names import TAG_OWNER
from modeldeploy.backends.azureml import build
from modeldeploy.controller.policies import PolicyGate
from modeldeploy.controller.reconciler import owner_of

LABELS = {platform.LABEL_TEAM: "risk", platform.LABEL_COST_CENTER: "CC-9", "unrelated": "x"}


def _body(model: str = "fraud-scorer") -> dict[str, object]:
    return {
        "metadata": {"namespace": "ml", "name": "fraud", "uid": "u-1"},
        "spec": {"model": {"name": model, "version": "1.0.0"}},
    }


def test_cost_tags_come_from_the_model_and_the_namespace_labels() -> None:
    tags = platform.cost_tags("fraud-scorer", "ml", "fraud", LABELS)
    assert tags == {
        "model": "fraud-scorer",
        "modeldeployment": "ml/fraud",
        "team": "risk",
        "cost-center": "CC-9",
    }
    # An unlabelled namespace leaves team and cost center out rather than inventing them.
    assert set(platform.cost_tags("m", "ml", "fraud")) == {"model", "modeldeployment"}


def test_the_owner_carries_them_into_every_azure_resource_tag() -> None:
    owner = owner_of(_body(), LABELS)
    tags = build.owner_tags(owner)
    assert tags["team"] == "risk"
    assert tags["cost-center"] == "CC-9"
    assert tags["model"] == "fraud-scorer"
    assert tags[TAG_OWNER] == "ml/fraud"
    assert owner == owner_of(_body())  # identity is the object, not its labels


def test_ownership_wins_over_a_cost_tag_of_the_same_key() -> None:
    owner = owner_of(_body())
    forged = type(owner)(owner.namespace, owner.name, owner.uid, cost_tags=((TAG_OWNER, "other/x"),))
    assert build.owner_tags(forged)[TAG_OWNER] == "ml/fraud"


def test_the_policy_gate_serves_the_watched_labels() -> None:
    gate = PolicyGate()
    assert gate.labels_of("ml") == {}
    namespace = {"metadata": {"name": "ml", "labels": LABELS}}
    gate.observe_namespace("ADDED", namespace)
    assert gate.labels_of("ml")[platform.LABEL_TEAM] == "risk"
