"""The apiserver and the operator read every ``pattern`` of the CRDs the same way (issue #13).

For each pattern field of the generated CRDs: strings from the pattern and near-misses of them (one character
changed, inserted or removed; ASCII, Unicode, whitespace, controls; a trailing newline; lengths at the
bound), then every odd character once in a valid string and the length bound met exactly and passed by one,
judged by the operator's validator of that field and by a real kube-apiserver. The apiserver side is
one throwaway cluster-scoped CRD with one array property per distinct (pattern, minLength, maxLength), and a
few server-side dry-run creates carrying every candidate; the refused ones are read from the error causes.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from localkube.testing import ClusterHandle
from tests.api.pattern_fields import PatternField, candidates, pattern_fields, python_leaves, sweep

EXAMPLES = 40  # hypothesis draws per distinct constraint, each a valid string and a near-miss
GROUP, PLURAL, KIND = "patternprobe.kdap.io", "probes", "PatternProbe"
BATCH = 800  # values per dry-run object: the apiserver lists every refused one, so keep answers modest

LAW = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers"
    "/Microsoft.OperationalInsights/workspaces/law-1"
)
# Cases that once told the two engines apart, or would: each is checked on every run with its verdict.
# (path, value, accepted)
REGRESSIONS: list[tuple[str, str, bool]] = [
    # Python's re reads $ as "end or before a final newline"; RE2 and Rust read it as the end.
    ("ModelDeployment.spec.model.version", "1.2.3\n", False),
    ("ModelDeployment.spec.target.azureml.endpointName", "fraud-prod\n", False),
    # No \s in the patterns: a vertical tab, NEL, NBSP are not whitespace to RE2's [^\t\n\f\r ] either.
    ("ModelDeployment.spec.batch.input", "file:///data/in\vput", True),
    ("ModelDeployment.spec.batch.input", "file:///data/in\xa0put", True),
    ("ModelDeployment.spec.batch.input", "file:///data/in\tput", False),
    # No \d: an Arabic-Indic or fullwidth digit is not a digit to either side.
    ("ModelDeployment.spec.model.version", "1.\u0663.0", False),
    ("ModelDeployment.spec.model.version", "1.\uff12.0", False),
    # (?i) folds Unicode on both sides: long s and the Kelvin sign match s and k in an ARM id; without (?i)
    # an ASCII class admits neither.
    ("ModelDeployment.spec.target.azureml.logAnalyticsWorkspaceId", LAW.replace("/sub", "/\u017fub"), True),
    ("ModelDeployment.spec.target.azureml.logAnalyticsWorkspaceId", LAW.replace("rks", "r\u212as"), True),
    ("ModelDeployment.spec.target.azureml.endpointName", "fraud-\u212aprod", False),
]


@pytest.fixture(scope="module")
def fields() -> list[PatternField]:
    return pattern_fields()


def test_each_crd_pattern_is_the_pattern_python_validates_that_field_with(fields: list[PatternField]) -> None:
    assert len(fields) >= 100  # spec and policy patterns, not an empty walk
    for f in fields:
        (leaf, _config), *more = python_leaves(f.path)
        assert not more, f.path
        assert (leaf["type"], leaf.get("pattern")) == ("str", f.pattern), f.path
        assert (leaf.get("min_length"), leaf.get("max_length")) == (f.min_length, f.max_length), f.path


def test_candidates_are_the_same_every_run_and_straddle_the_pattern(fields: list[PatternField]) -> None:
    semver = next(f for f in fields if f.path == "ModelDeployment.spec.model.version")
    first = candidates(semver.pattern, semver.max_length, 10)
    assert first == candidates(semver.pattern, semver.max_length, 10)
    verdicts = [semver.python(v) for v in first]
    assert True in verdicts
    assert False in verdicts


def test_a_python_verdict_is_the_fields_validation() -> None:
    # The leaf as pydantic-core compiled it: Rust regex, is_match (a search: the pattern's anchors decide).
    semver = next(f for f in pattern_fields() if f.path == "ModelDeployment.spec.model.version")
    assert semver.python("1.2.3-rc.1+build.5")
    assert not semver.python("01.2.3")
    assert not semver.python("1.2.3\n")


def _probe_crd(constraints: list[tuple[str, int | None, int | None]]) -> dict[str, Any]:
    def string(pattern: str, lo: int | None, hi: int | None) -> dict[str, Any]:
        bounds = {"minLength": lo} if lo is not None else {}
        return {
            "type": "string",
            "pattern": pattern,
            **bounds,
            **({"maxLength": hi} if hi is not None else {}),
        }

    props = {f"p{i}": {"type": "array", "items": string(*c)} for i, c in enumerate(constraints)}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {"plural": PLURAL, "singular": "probe", "kind": KIND},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
            ],
        },
    }


@pytest.fixture(scope="module")
def probe(cluster: ClusterHandle, k8s_api: client.ApiClient) -> Iterator[client.CustomObjectsApi]:
    yield client.CustomObjectsApi(k8s_api)
    cluster.kubectl("delete", "crd", f"{PLURAL}.{GROUP}", "--wait=false", check=False)


CAUSE = re.compile(r"^spec\.p(\d+)\[(\d+)\]$")


def _refused_by_server(
    api: client.CustomObjectsApi, values: dict[int, list[str]]
) -> tuple[set[tuple[int, int]], int]:
    """(property, index) of every refused value, and the number of requests it took."""
    flat = [(p, i, v) for p, vs in values.items() for i, v in enumerate(vs)]
    refused: set[tuple[int, int]] = set()
    requests = 0
    for start in range(0, len(flat), BATCH):
        chunk = flat[start : start + BATCH]
        spec: dict[str, list[str]] = defaultdict(list)
        where: dict[tuple[int, int], tuple[int, int]] = {}
        for p, i, v in chunk:
            where[(p, len(spec[f"p{p}"]))] = (p, i)
            spec[f"p{p}"].append(v)
        body = {"apiVersion": f"{GROUP}/v1", "kind": KIND, "metadata": {"name": "probe"}, "spec": spec}
        requests += 1
        try:
            api.create_cluster_custom_object(GROUP, "v1", PLURAL, body, dry_run="All")
            continue
        except client.ApiException as exc:
            status, answer = exc.status, exc.body
        assert status == 422, answer  # Invalid: anything else is a broken probe, not a verdict
        for cause in json.loads(answer or "{}")["details"]["causes"]:
            match = CAUSE.match(cause.get("field", ""))
            assert match, cause  # a refusal of anything but a probe value is a broken probe, not a verdict
            refused.add(where[(int(match[1]), int(match[2]))])
    return refused, requests


def _established(cluster: ClusterHandle, crd: dict[str, Any]) -> None:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(crd))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{PLURAL}.{GROUP}")


@pytest.mark.cluster
def test_the_apiserver_and_the_operator_agree_on_every_pattern(
    cluster: ClusterHandle, probe: client.CustomObjectsApi, fields: list[PatternField]
) -> None:
    started = time.monotonic()
    by_constraint: dict[tuple[str, int | None, int | None], list[PatternField]] = defaultdict(list)
    for f in fields:
        by_constraint[f.constraint].append(f)
    constraints = list(by_constraint)
    values: dict[int, list[str]] = {}
    for i, (pattern, _, most) in enumerate(constraints):
        drawn = candidates(pattern, most, EXAMPLES)
        valid = [v for v in drawn if by_constraint[constraints[i]][0].python(v)]
        values[i] = list(dict.fromkeys(drawn + sweep(valid, most)))
    expected: dict[tuple[int, int], bool] = {}
    for path, value, accepted in REGRESSIONS:
        p = constraints.index(next(f.constraint for f in fields if f.path == path))
        values[p].append(value)
        expected[(p, len(values[p]) - 1)] = accepted

    _established(cluster, _probe_crd(constraints))
    refused, requests = _refused_by_server(probe, values)

    disagreements, checked = [], 0
    for p, constraint in enumerate(constraints):
        for i, value in enumerate(values[p]):
            server = (p, i) not in refused
            for f in by_constraint[constraint]:
                checked += 1
                if f.python(value) != server:
                    disagreements.append(
                        f"{f.path} {value!r}: operator {f.python(value)}, apiserver {server}"
                    )
    assert disagreements == []
    assert {k: (k not in refused) for k in expected} == expected  # the regressions keep their verdicts
    strings = sum(len(v) for v in values.values())
    print(
        f"{len(fields)} pattern fields, {len(constraints)} distinct constraints, {strings} strings to the "
        f"apiserver in {requests} requests ({len(refused)} refused), {checked} field verdicts compared, "
        f"{time.monotonic() - started:.1f}s"
    )
    assert 0 < len(refused) < strings  # both verdicts occur: the probe is not refusing or passing everything
