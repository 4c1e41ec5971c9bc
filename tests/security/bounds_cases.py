"""Manifests past a bound (#13): zero or huge durations, too many features, HPA limits, bad time zones.

Each case is refused by pydantic and by the real apiserver with one message naming the field and the limit
(``tests/security/test_api_bounds.py`` and ``test_api_bounds_cluster.py``). The old API accepted them all.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.api.mdep_cases import Invalid, Manifest, _set, azureml_shadow, kubernetes_canary

K, A = kubernetes_canary, azureml_shadow


def _bound(case: str, base: Callable[[], Manifest], path: str, value: str, message: str) -> Invalid:
    """A duration at ``path`` set to ``value``; both sides must say ``message`` and blame the field."""
    blamed = "spec." + path.replace(".steps.0.", ".steps[0].")
    return Invalid(case, base, _set(path, value), blamed, message, message)


_FEATURES = [{"name": f"n{i}"} for i in range(200)], [{"name": f"c{i}"} for i in range(100)]

BOUNDS: list[Invalid] = [
    _bound(
        "analysis-interval-zero",
        K,
        "analysis.interval",
        "0s",
        "analysis.interval must be at least 1s and at most 1h",
    ),
    _bound(
        "analysis-interval-huge",
        K,
        "analysis.interval",
        "2h",
        "analysis.interval must be at least 1s and at most 1h",
    ),
    _bound(
        "drift-interval-zero",
        K,
        "analysis.drift.interval",
        "0ms",
        "analysis.drift.interval must be at least 1s and at most 24h",
    ),
    _bound(
        "live-window-a-year",
        K,
        "analysis.drift.live.window",
        "8760h",
        "analysis.drift.live.window must be at least 1m and at most 168h (one folder per hour is read)",
    ),
    _bound(
        "live-window-zero",
        K,
        "analysis.drift.live.window",
        "0s",
        "analysis.drift.live.window must be at least 1m",
    ),
    _bound(
        "pause-a-year",
        K,
        "strategy.canary.steps.0.pause.duration",
        "8760h",
        "pause.duration must be longer than 0s and at most 720h",
    ),
    _bound(
        "shadow-a-year",
        A,
        "strategy.shadow.duration",
        "8760h",
        "strategy.shadow.duration must be at least 1m and at most 720h",
    ),
    _bound(
        "scale-in-delay-zero",
        K,
        "autoscaling.scaleInDelay",
        "0s",
        "autoscaling.scaleInDelay must be at least 1m and at most 168h",
    ),
    Invalid(
        "scale-in-delay-past-hpa",
        K,
        _set("autoscaling.scaleInDelay", "2h"),
        "spec.autoscaling.scaleInDelay",
        "autoscaling.scaleInDelay must be at most 1h on a kubernetes target",
        "autoscaling.scaleInDelay must be at most 1h on a kubernetes target",
    ),
    Invalid(
        "schedule-duration-zero",
        K,
        _set(
            "autoscaling.schedules",
            [{"name": "day", "cron": "0 8 * * *", "duration": "0s", "minReplicas": 2}],
        ),
        "spec.autoscaling.schedules[0].duration",
        "autoscaling.schedules[].duration must be at least 1m and at most 168h",
        "autoscaling.schedules[].duration must be at least 1m and at most 168h",
    ),
    Invalid(
        "schedule-time-zone-shape",
        K,
        _set(
            "autoscaling.schedules",
            [
                {
                    "name": "day",
                    "cron": "0 8 * * *",
                    "duration": "8h",
                    "minReplicas": 2,
                    "timeZone": "UTC+2 ; x",
                }
            ],
        ),
        "spec.autoscaling.schedules[0].timeZone",
        "should match",
        "String should match pattern",
    ),
    Invalid(
        "retrain-cooldown-huge",
        K,
        _set(
            "rollback.retrain",
            {"type": "event", "event": {"url": "https://hooks.example.com/retrain"}, "cooldown": "9000h"},
        ),
        "spec.rollback.retrain.cooldown",
        "rollback.retrain.cooldown must be at least 0s and at most 720h",
        "rollback.retrain.cooldown must be at least 0s and at most 720h",
    ),
    Invalid(
        "scale-down-delay-huge",
        A,
        _set("strategy", {"type": "blueGreen", "blueGreen": {"scaleDownDelay": "48h", "analysis": False}}),
        "spec.strategy.blueGreen.scaleDownDelay",
        "strategy.blueGreen.scaleDownDelay must be at least 0s and at most 24h",
        "strategy.blueGreen.scaleDownDelay must be at least 0s and at most 24h",
    ),
    Invalid(
        "canary-scale-down-delay-huge",
        K,
        _set("strategy.canary.scaleDownDelay", "25h"),
        "spec.strategy.canary.scaleDownDelay",
        "strategy.canary.scaleDownDelay must be at least 0s and at most 24h",
        "strategy.canary.scaleDownDelay must be at least 0s and at most 24h",
    ),
    Invalid(
        "too-many-features",
        K,
        _set(
            "analysis.drift",
            {**K()["analysis"]["drift"], "numerical": _FEATURES[0], "categorical": _FEATURES[1]},
        ),
        "spec.analysis.drift",
        "analysis.drift watches at most 256 features",
        "analysis.drift watches at most 256 features",
    ),
]
