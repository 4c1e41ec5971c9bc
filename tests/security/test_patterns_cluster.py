"""Every pattern field of the CRDs, in whole objects on the real apiserver (#13): for each string field with a
``pattern``, strings generated from it and near-misses go into a valid object, and the apiserver
(server-side dry-run, nothing is created) and the pydantic model must give the same verdict on the object.
``tests/api/test_pattern_agreement.py`` compares each pattern alone; here the CEL rules and bounds around
the field count too, and where the operator knows more than a pattern can say (a cron that never fires, a
time zone not in the database), its refusal must name the field (``BY_MEANING``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from modeldeploy.api import GROUP, PLURAL, POLICY_PLURAL, VERSION
from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.policy import check
from tests.api.mdep_cases import Manifest
from tests.api.pattern_fields import PatternField, pattern_fields
from tests.security.pattern_cases import candidates, steps, with_value
from tests.security.policy_cases import TEAM, policy

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("crds")]

FIELDS = pattern_fields()
WIDE = policy(storage=[{"account": "acct1", "containers": ["*"]}], localPaths=["/"])
# Fields the apiserver can check only by shape and the operator by meaning (its zone database, its cron
# parser): there the apiserver may accept what pydantic refuses, with this message naming the field.
_MD = "ModelDeployment.spec."
BY_MEANING = {
    f"{_MD}autoscaling.schedules[].cron": "autoscaling.schedules[].cron: cron ",
    f"{_MD}autoscaling.schedules[].timeZone": "autoscaling.schedules[].timeZone must be an IANA time zone",
    f"{_MD}batch.schedules[].cron.expression": "batch.schedules[].cron.expression: cron ",
    f"{_MD}batch.schedules[].cron.timeZone": "batch.schedules[].cron.timeZone must be an IANA time zone",
    f"{_MD}batch.schedules[].recurrence.timeZone": "batch.schedules[].recurrence.timeZone must be an IANA",
}
Ask = Callable[[str, Manifest], str]


@pytest.fixture(scope="module")
def apiserver(k8s_api: client.ApiClient) -> Ask:
    """(kind, object) -> "" when the apiserver would accept it, else its message."""
    api = client.CustomObjectsApi(k8s_api)

    def ask(kind: str, body: Manifest) -> str:
        obj = {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": "fuzzed"}, **body}
        try:
            if kind == "ModelDeploymentPolicy":
                api.create_cluster_custom_object(GROUP, VERSION, POLICY_PLURAL, obj, dry_run="All")
            else:
                api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, obj, dry_run="All")
        except ApiException as exc:
            refused = exc
        else:
            return ""
        assert refused.status == 422, refused  # Invalid: anything else is no verdict on the object
        return str(json.loads(refused.body)["message"])

    return ask


def _pydantic(kind: str, body: Manifest) -> str:
    """The model's message refusing the object, or "" when it accepts it. An accepted ModelDeployment also
    gets a verdict from the policy check (what the reconcile asks next): refusals, never an error."""
    model: Any = ModelDeploymentPolicySpec if kind == "ModelDeploymentPolicy" else ModelDeploymentSpec
    try:
        valid = model.model_validate(body["spec"])
    except ValidationError as exc:
        return str(exc)
    if isinstance(valid, ModelDeploymentSpec):
        for refusal in check(valid, "team-a", "fuzzed", TEAM, [WIDE]):
            assert refusal.field.startswith("spec.")
            assert refusal.reason
    return ""


def test_every_pattern_field_is_reached() -> None:
    # Guards the property below against fields it silently skips: each is set in some valid base.
    assert len(FIELDS) >= 120
    assert set(BY_MEANING) <= {f.path for f in FIELDS}
    for field in FIELDS:
        assert with_value(field, "x")


@pytest.mark.parametrize("field", FIELDS, ids=[f.path for f in FIELDS])
@settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(data=st.data())
def test_the_apiserver_and_the_model_agree_on_every_pattern(
    apiserver: Ask, field: PatternField, data: st.DataObject
) -> None:
    kind, _ = steps(field)
    values = data.draw(st.lists(candidates(field), min_size=1, max_size=6, unique=True), label="values")
    bodies = [with_value(field, v) for v in values]
    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(lambda b: apiserver(kind, b), bodies))
    for value, body, server in zip(values, bodies, verdicts, strict=True):
        python = _pydantic(kind, body)
        said = f"{field.path} = {value!r}: apiserver {server or 'accepts'} / {python or 'pydantic accepts'}"
        meaning = BY_MEANING.get(field.path)
        if meaning is not None and python and not server:
            assert meaning in python, said
            continue
        assert bool(server) == bool(python), said
