"""Bounds in the API (#13) on the real apiserver: each manifest of ``bounds_cases`` is refused with the
message the operator gives, naming the field and the limit; so is a name too long for the children."""

from __future__ import annotations

import json
from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from modeldeploy.api import API_VERSION, KIND
from modeldeploy.api.spec import MAX_OBJECT_NAME, OBJECT_NAME_MESSAGE, ModelDeploymentSpec
from tests.api.mdep_cases import Invalid, kubernetes_canary
from tests.security.bounds_cases import BOUNDS

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("crds")]

Kubectl = Callable[..., CompletedProcess[str]]


def _dry_run(kubectl: Kubectl, namespace: str, name: str, spec: dict[str, Any]) -> CompletedProcess[str]:
    obj = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}
    args = ["create", "-n", namespace, "-f", "-", "-o", "json", "--dry-run=server"]
    return kubectl(*args, input=json.dumps(obj), check=False)


@pytest.mark.parametrize("case", BOUNDS, ids=[c.id for c in BOUNDS])
def test_out_of_bounds_refused_by_the_apiserver(kubectl: Kubectl, namespace: str, case: Invalid) -> None:
    proc = _dry_run(kubectl, namespace, "bounded", case.spec())
    assert proc.returncode != 0, f"{case.id}: the apiserver accepted it"
    assert case.path in proc.stderr, proc.stderr
    assert case.server in proc.stderr, proc.stderr


def test_a_name_too_long_for_the_child_labels_is_refused(kubectl: Kubectl, namespace: str) -> None:
    ok = _dry_run(kubectl, namespace, "m" * MAX_OBJECT_NAME, kubernetes_canary())
    assert ok.returncode == 0, ok.stderr
    proc = _dry_run(kubectl, namespace, "m" * (MAX_OBJECT_NAME + 1), kubernetes_canary())
    assert proc.returncode != 0
    assert OBJECT_NAME_MESSAGE in proc.stderr, proc.stderr


_DURATION_FIELDS = [
    ("analysis", "interval"),
    ("analysis.drift", "interval"),
    ("analysis.drift.live", "window"),
    ("autoscaling", "scaleInDelay"),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(_DURATION_FIELDS),
    value=st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**6), st.sampled_from(["ms", "s", "m", "h"])),
)
def test_a_sample_of_fuzzed_durations_gets_the_same_verdict_and_words_from_both(
    kubectl: Kubectl, namespace: str, field: tuple[str, str], value: str
) -> None:
    """The apiserver and the operator agree on every sampled duration, and refuse it in the same words."""
    spec = kubernetes_canary()
    node: Any = spec
    for part in field[0].split("."):
        node = node[part]
    node[field[1]] = value
    python = ""
    try:
        ModelDeploymentSpec.model_validate(spec)
    except ValidationError as exc:
        python = str(exc)
    proc = _dry_run(kubectl, namespace, "fuzzed", spec)
    assert (proc.returncode != 0) == bool(python), (
        f"{field} = {value}: {proc.stderr or 'accepted'} / {python}"
    )
    if python:
        message = python.split("Value error, ", 1)[-1].split(" [type=", 1)[0]
        assert message in proc.stderr, (message, proc.stderr)
