"""Bounds in the API (#13), the pydantic side: every duration has a minimum and a maximum, time zones are
IANA names, drift watches a bounded number of features, and the object's name fits every child.

The same manifests go to the real apiserver in ``test_api_bounds_cluster.py``. A hypothesis fuzz of
durations and names checks that every value is either refused with the field and the limit named, or
turns into a plan the machine accepts (no ValueError deep in the operator, which used to loop forever).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from modeldeploy.api.duration import parse_duration
from modeldeploy.api.spec import MAX_OBJECT_NAME, ModelDeploymentSpec, object_name_problem
from modeldeploy.controller.translate import desired_revision, plan_of
from modeldeploy.rollout.revision import MAX_NAME, MAX_SHORT_NAME
from tests.api.mdep_cases import Invalid, kubernetes_canary
from tests.security.bounds_cases import BOUNDS


@pytest.mark.parametrize("case", BOUNDS, ids=[c.id for c in BOUNDS])
def test_out_of_bounds_refused_naming_field_and_limit(case: Invalid) -> None:
    with pytest.raises(ValidationError) as err:
        ModelDeploymentSpec.model_validate(case.spec())
    assert case.python in str(err.value)


def test_an_unknown_time_zone_is_refused_by_the_operator() -> None:
    """The apiserver can check only the shape; the operator knows the zone database."""
    spec = kubernetes_canary()
    window = {
        "name": "day",
        "cron": "0 8 * * *",
        "duration": "8h",
        "minReplicas": 2,
        "timeZone": "Mars/Olympus",
    }
    spec["autoscaling"]["schedules"] = [window]
    with pytest.raises(
        ValidationError, match="timeZone must be an IANA time zone name such as Europe/Berlin"
    ):
        ModelDeploymentSpec.model_validate(spec)
    window["timeZone"] = "Europe/Berlin"
    ModelDeploymentSpec.model_validate(spec)


def test_object_names_past_the_label_limit_are_refused() -> None:
    assert object_name_problem("m" * MAX_OBJECT_NAME) is None
    problem = object_name_problem("m" * (MAX_OBJECT_NAME + 1))
    assert problem is not None
    assert "at most 63 characters" in problem


_UNITS = st.sampled_from(["ms", "s", "m", "h"])
_DURATION = st.one_of(
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**7), _UNITS),
    st.text(alphabet="0123456789.smh -", max_size=12),
)
_FIELDS = [
    ("analysis", "interval"),
    ("analysis.drift", "interval"),
    ("analysis.drift.live", "window"),
    ("strategy.canary.steps.0.pause", "duration"),
    ("autoscaling", "scaleInDelay"),
]


def _with(spec: dict[str, Any], where: str, key: str, value: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    node: Any = out
    for part in where.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[key] = value
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_DURATION)
def test_fuzzed_durations_are_refused_with_a_message_or_accepted_by_the_machine(
    field: tuple[str, str], value: str
) -> None:
    spec = _with(kubernetes_canary(), *field, value)
    try:
        parsed = ModelDeploymentSpec.model_validate(spec)
    except ValidationError as exc:
        text = str(exc)
        assert field[1] in text, text  # the field is named
        assert "should match pattern" in text or "must be" in text, text  # and the rule or the limit
        return
    seconds = parse_duration(value)
    assert seconds > 0 or field[1] not in ("interval", "window")
    plan = plan_of(parsed)  # raised ValueError for a zero interval before: a stall, not a message
    assert plan.analysis_interval >= 1
    assert plan.analysis_interval <= 24 * 3600


@settings(max_examples=200, deadline=None)
@given(name=st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,250}[a-z0-9])?", fullmatch=True))
def test_fuzzed_names_fit_every_child_or_are_refused(name: str) -> None:
    if object_name_problem(name) is not None:
        assert len(name) > MAX_OBJECT_NAME
        return
    spec = ModelDeploymentSpec.model_validate(kubernetes_canary())
    revision = desired_revision(name, spec)
    assert len(revision.name) <= MAX_NAME
    assert len(revision.short_name) <= MAX_SHORT_NAME
    assert revision.name[0].isalpha()
