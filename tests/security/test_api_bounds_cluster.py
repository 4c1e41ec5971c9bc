"""Bounds in the API (#13) on the real apiserver: each manifest of ``bounds_cases`` is refused with the
message the operator gives, naming the field and the limit; so is a name too long for the children."""

from __future__ import annotations

import json
from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import pytest

from modeldeploy.api import API_VERSION, KIND
from modeldeploy.api.spec import MAX_OBJECT_NAME, OBJECT_NAME_MESSAGE
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
