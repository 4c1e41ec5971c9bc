"""Pure checks of the objects the Kubernetes backend writes, and of scheduled scaling windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modeldeploy.api.cron import Cron, CronError
from modeldeploy.backends.kubernetes import from_spec
from modeldeploy.backends.kubernetes import manifests as mf
from modeldeploy.backends.kubernetes.schedule import Window, effective_min_replicas, window_active
from modeldeploy.ports import Owner, RevisionRequest
from modeldeploy.rollout.serving import TrafficSplit
from tests.backends.kubernetes.specs import kubernetes_spec

OWNER = Owner(namespace="ml", name="scorer", uid="u-1")


def test_deployment_without_autoscaling_pins_replicas_and_owner() -> None:
    w, _ = from_spec.workload(RevisionRequest("scorer-abc", kubernetes_spec()))
    dep = mf.deployment(OWNER, w)
    assert dep["spec"]["replicas"] == 1
    assert dep["metadata"]["ownerReferences"][0] == {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "name": "scorer",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "registry.example/scorer:1.0.0"
    assert c["resources"] == {"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}
    assert {"name": "MODEL_VERSION", "value": "1.0.0"} in c["env"]
    assert {"name": "LOG_LEVEL", "value": "info"} in c["env"]
    assert dep["spec"]["selector"]["matchLabels"]["mlops.kdap.io/revision"] == "scorer-abc"


def test_autoscaled_deployment_leaves_replicas_to_the_hpa() -> None:
    spec = kubernetes_spec(autoscaling={"minReplicas": 2, "maxReplicas": 8, "scaleInDelay": "10m"})
    w, _ = from_spec.workload(RevisionRequest("scorer-abc", spec))
    assert "replicas" not in mf.deployment(OWNER, w)["spec"]
    hpa = mf.hpa(OWNER, w, 2)
    assert hpa is not None
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 8
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 600


def test_route_round_trips_weights_and_mirror() -> None:
    split = TrafficSplit({"scorer-a": 90, "scorer-b": 10})
    route = mf.httproute(OWNER, from_spec.route(kubernetes_spec()), split)
    assert route["spec"]["parentRefs"][0]["name"] == "public"
    assert route["spec"]["parentRefs"][0]["namespace"] == "gateways"
    assert route["spec"]["hostnames"] == ["scorer.example.com"]
    assert mf.split_from_route(route) == split
    shadow = TrafficSplit({"scorer-a": 100}, mirror="scorer-b", mirror_percent=20)
    mirrored = mf.httproute(OWNER, from_spec.route(kubernetes_spec()), shadow)
    assert mirrored["spec"]["rules"][0]["filters"][0]["requestMirror"]["percent"] == 20
    assert mf.split_from_route(mirrored) == shadow


@pytest.mark.parametrize(
    ("expr", "when", "expected"),
    [
        ("0 8 * * 1-5", datetime(2026, 11, 23, 8, 0, tzinfo=UTC), True),  # a Monday
        ("0 8 * * 1-5", datetime(2026, 11, 22, 8, 0, tzinfo=UTC), False),  # a Sunday
        ("*/15 * * * *", datetime(2026, 11, 23, 9, 45, tzinfo=UTC), True),
        ("*/15 * * * *", datetime(2026, 11, 23, 9, 46, tzinfo=UTC), False),
        ("0 0 1 * 0", datetime(2026, 11, 1, 0, 0, tzinfo=UTC), True),  # day 1 or Sunday (POSIX "or")
        ("0 0 1 * 0", datetime(2026, 11, 29, 0, 0, tzinfo=UTC), True),
        ("0 0 1 * 0", datetime(2026, 11, 24, 0, 0, tzinfo=UTC), False),
    ],
)
def test_cron_matches(expr: str, when: datetime, expected: bool) -> None:
    assert Cron.parse(expr).matches(when) is expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 8 * *", "must have 5 fields"),
        ("0 25 * * *", "hour '25' is out of range 0-23"),
        ("0 8 * * MON", "names like MON are not supported"),
        ("*/0 * * * *", "step '0' must be a positive number"),
    ],
)
def test_bad_cron_names_the_field(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        Cron.parse(expr)


def test_window_raises_the_floor_only_while_active() -> None:
    business = Window(Cron.parse("0 8 * * 1-5"), timedelta(hours=10), 6)
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    monday_night = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    assert effective_min_replicas(2, [business], monday_noon) == 6
    assert effective_min_replicas(2, [business], monday_night) == 2
    assert window_active(business.cron, business.duration, datetime(2026, 11, 23, 17, 59, tzinfo=UTC))


def test_window_follows_its_time_zone() -> None:
    berlin = Window(Cron.parse("0 8 * * *"), timedelta(hours=1), 4, "Europe/Berlin")
    # 08:30 in Berlin is 07:30 UTC in winter
    assert berlin.active(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))
    assert not berlin.active(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
