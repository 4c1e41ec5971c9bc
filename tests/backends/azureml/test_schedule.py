"""Cron windows -> weekly Azure Monitor recurrences, and the autoscale plan's limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modeldeploy.backends.azureml.autoscale import AutoscalePlan, Window, build_setting, setting_fingerprint
from modeldeploy.backends.azureml.schedule import WeeklyTime, parse_cron, window_end
from modeldeploy.backends.azureml.timezones import windows_time_zone


def test_weekday_cron() -> None:
    assert parse_cron("30 7 * * 1-5") == WeeklyTime(
        days=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"), hour=7, minute=30
    )


def test_star_and_sunday_as_seven() -> None:
    assert len(parse_cron("0 0 * * *").days) == 7
    assert parse_cron("0 9 * * 6,7").days == ("Sunday", "Saturday")


def test_a_window_past_midnight_ends_on_the_next_day() -> None:
    end = window_end(parse_cron("0 22 * * 5"), timedelta(hours=4))
    assert end == WeeklyTime(days=("Saturday",), hour=2, minute=0)


def test_saturday_window_wraps_to_sunday() -> None:
    assert window_end(parse_cron("0 20 * * 6"), timedelta(hours=6)).days == ("Sunday",)


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("0 8 1 * *", "set day-of-month and month to '*'"),
        ("0 8,12 * * *", "use a single minute and hour"),
        ("0 25 * * *", "hour '25' is out of range 0-23"),
        ("0 8 * *", "must have 5 fields"),
        ("x 8 * * *", "minute 'x' is not a number, range or '*'"),
    ],
)
def test_crons_azure_cannot_express_are_refused_with_the_fix(cron: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="schedule cron") as info:
        parse_cron(cron)
    assert fragment in str(info.value)


def test_durations_outside_a_week_are_refused() -> None:
    with pytest.raises(ValueError, match="between 1 minute and 7 days"):
        window_end(parse_cron("0 8 * * *"), timedelta(days=7))


def test_time_zone_mapping() -> None:
    assert windows_time_zone("Europe/Berlin") == "W. Europe Standard Time"
    with pytest.raises(ValueError, match="timeZone 'Mars/Olympus'"):
        windows_time_zone("Mars/Olympus")


def _plan(**changes: object) -> AutoscalePlan:
    base: dict[str, object] = {"min_replicas": 2, "max_replicas": 6, "default_replicas": 2}
    return AutoscalePlan(**(base | changes))  # type: ignore[arg-type]


def _setting(plan: AutoscalePlan) -> object:
    return build_setting(plan, name="s", resource_id="/x/deployments/d", location="westeurope", tags={})


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"min_replicas": 0}, "minReplicas (0) must be >= 1"),
        ({"scale_in_delay": timedelta(seconds=30)}, "scaleInDelay must be between 1m and 7d"),
        ({"windows": [Window("0 8 * * *", timedelta(hours=1), 3)] * 10}, "at most 9 windows"),
    ],
)
def test_plans_azure_would_refuse_fail_early(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match="autoscaling") as info:
        _setting(_plan(**changes))
    assert fragment in str(info.value)


def test_fingerprint_changes_with_capacity_and_not_with_tags() -> None:
    one = build_setting(_plan(), name="s", resource_id="/r", location="westeurope", tags={"a": "1"})
    same = build_setting(_plan(), name="s", resource_id="/r", location="westeurope", tags={"a": "2"})
    more = build_setting(_plan(max_replicas=7), name="s", resource_id="/r", location="westeurope", tags={})
    assert setting_fingerprint(one) == setting_fingerprint(same)
    assert setting_fingerprint(one) != setting_fingerprint(more)


def test_window_capacity_never_drops_below_the_base_minimum() -> None:
    plan = _plan(min_replicas=3, windows=[Window("0 8 * * *", timedelta(hours=2), 1)])
    setting = build_setting(plan, name="s", resource_id="/r", location="westeurope", tags={})
    assert setting.profiles[1].capacity.minimum == "3"
