"""Revision names: deterministic, DNS-1035 labels of at most 63 characters, and a short form for Azure ML."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeldeploy.rollout.revision import MAX_SHORT_NAME, DesiredRevision, revision_name, spec_hash

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
AZUREML_DEPLOYMENT = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")  # 3-32 characters


def test_the_hash_ignores_key_order() -> None:
    assert spec_hash({"model": "a", "target": {"x": 1, "y": 2}}) == spec_hash(
        {"target": {"y": 2, "x": 1}, "model": "a"}
    )


def test_a_serving_change_changes_the_name() -> None:
    a = DesiredRevision.of("fraud", {"model": {"version": "1.0.0"}})
    b = DesiredRevision.of("fraud", {"model": {"version": "1.0.1"}})
    assert a.name != b.name
    assert a.name.startswith("fraud-")
    assert len(a.name) == len("fraud-") + 10


def test_long_and_odd_deployment_names_are_cut_and_cleaned() -> None:
    digest = spec_hash({"m": 1})
    name = revision_name("Fraud.Detector_" + "x" * 80, digest)
    assert len(name) == 63
    assert DNS_1035.match(name), name
    assert name.endswith("-" + digest[:10])
    assert revision_name("9lives", digest).startswith("m9lives-")
    assert revision_name("---", digest) == "m-" + digest[:10]


def test_a_limit_too_small_for_the_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="a revision name needs at least 12 characters, limit is 11"):
        revision_name("fraud", spec_hash({}), limit=11)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.text(min_size=1, max_size=300), st.dictionaries(st.text(max_size=8), st.integers(), max_size=4))
def test_every_name_is_a_valid_label_and_the_short_form_fits_azure_ml(
    deployment: str, serving: dict[str, int]
) -> None:
    d = DesiredRevision.of(deployment, serving)
    assert DNS_1035.match(d.name), d.name
    assert len(d.name) <= 63
    assert AZUREML_DEPLOYMENT.match(d.short_name), d.short_name
    assert len(d.short_name) <= MAX_SHORT_NAME
    assert d.name.endswith(d.spec_hash[:10])
    assert d.short_name.endswith(d.spec_hash[:10])
    assert DesiredRevision.of(deployment, dict(reversed(serving.items()))) == d
