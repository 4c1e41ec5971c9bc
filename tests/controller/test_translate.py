"""The spec-to-plan translation the machine relies on."""

from __future__ import annotations

from typing import Any

from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.controller.translate import desired_revision, plan_of
from modeldeploy.rollout.plan import MetricLimits, Step
from tests.backends.kubernetes.specs import kubernetes_spec


def _spec(**extra: Any) -> ModelDeploymentSpec:
    return kubernetes_spec(**extra)


def test_canary_steps_keep_gates_durations_and_analysis() -> None:
    spec = _spec(
        strategy={
            "type": "canary",
            "canary": {
                "steps": [
                    {"weight": 10, "pause": {}, "analysis": True},
                    {"weight": 50, "pause": {"duration": "90s"}},
                    {"weight": 100},
                ]
            },
        },
        analysis={
            "interval": "30s",
            "metrics": [{"name": "p99", "provider": "prometheus", "builtin": "latencyP99", "max": 0.3}],
        },
        rollback={"failureLimit": 2},
    )
    plan = plan_of(spec)
    assert plan.steps == (
        Step(10, duration=None, analysis=True),
        Step(50, duration=90.0),
        Step(100, duration=0.0),
    )
    assert plan.analysis_interval == 30.0
    assert plan.failure_limit == 2
    assert plan.monitor_interval is None


def test_shadow_with_manual_promotion_ends_in_an_analysed_gate() -> None:
    spec = _spec(
        strategy={
            "type": "shadow",
            "shadow": {
                "mirrorPercent": 20,
                "duration": "10m",
                "comparison": {"latency": {}},
                "promotion": "manual",
            },
        }
    )
    plan = plan_of(spec)
    assert plan.steps == (
        Step(0, mirror_percent=20, duration=600.0, analysis=True),
        Step(0, mirror_percent=20, duration=None, analysis=True),
    )


def test_blue_green_auto_switches_after_the_preview() -> None:
    spec = _spec(
        strategy={
            "type": "blueGreen",
            "blueGreen": {
                "previewDuration": "2m",
                "analysis": False,
                "promotion": "auto",
                "scaleDownDelay": "45s",
            },
        }
    )
    plan = plan_of(spec)
    assert plan.steps == (Step(0, duration=120.0, analysis=False),)
    assert plan.scale_down_delay == 45.0


def test_a_canary_keeps_the_old_stable_up_for_its_scale_down_delay_30s_unless_set() -> None:
    steps = [{"weight": 50}, {"weight": 100}]
    assert plan_of(_spec(strategy={"type": "canary", "canary": {"steps": steps}})).scale_down_delay == 30.0
    quick = _spec(strategy={"type": "canary", "canary": {"steps": steps, "scaleDownDelay": "2s"}})
    assert plan_of(quick).scale_down_delay == 2.0


def test_drift_sets_monitoring_and_the_shorter_interval() -> None:
    drift = {
        "interval": "5m",
        "reference": {"uri": "file:///ref.parquet"},
        "live": {"uri": "file:///live.parquet"},
        "numerical": [{"name": "x"}],
    }
    spec = _spec(
        analysis={
            "interval": "1m",
            "drift": drift,
            "metrics": [{"name": "e", "provider": "prometheus", "builtin": "errorRate", "max": 0.1}],
        },
        rollback={"retrain": {"type": "event", "event": {"url": "https://hooks.example.com/retrain"}}},
    )
    plan = plan_of(spec)
    assert plan.analysis_interval == 60.0
    assert plan.monitor_interval == 300.0
    assert plan.retrain_on_drift is True


def test_only_serving_changes_cut_a_new_revision() -> None:
    base = desired_revision("budget", _spec())
    assert desired_revision("budget", _spec(autoscaling={"minReplicas": 2, "maxReplicas": 4})) == base
    assert desired_revision("budget", _spec(image="registry.example/scorer:1.0.1")).name != base.name
    assert base.name.startswith("budget-")
    assert len(base.short_name) <= 32


def test_every_limit_and_rollback_switch_reaches_the_plan() -> None:
    """#13: these spec fields were accepted and dropped on the way to the machine."""
    spec = _spec(
        analysis={
            "metrics": [
                {
                    "name": "err",
                    "provider": "prometheus",
                    "builtin": "errorRate",
                    "max": 0.01,
                    "failureLimit": 3,
                    "inconclusiveLimit": 2,
                    "onInconclusive": "fail",
                }
            ],
            "drift": {
                "reference": {"uri": "file:///data/ref.parquet"},
                "live": {"uri": "file:///data/live.parquet"},
                "numerical": [{"name": "amount"}],
                "confirmations": 4,
            },
        },
        rollback={
            "onDrift": False,
            "onMetricFailure": False,
            "retrain": {"type": "event", "event": {"url": "https://hooks.example.com/x"}, "cooldown": "6h"},
        },
    )
    plan = plan_of(spec)
    assert plan.metric_limits == (MetricLimits("err", 3, 2, "fail"),)
    assert plan.drift_confirmations == 4
    assert plan.rollback_on_drift is False
    assert plan.rollback_on_metric_failure is False
    assert plan.retrain_cooldown == 6 * 3600
