from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from modeldeploy.api.azure_names import autoscale_setting_name, deployment_name

_AZURE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")


def test_valid_short_revision_names_are_kept() -> None:
    assert deployment_name("budget-3f2a9c1d") == "budget-3f2a9c1d"


def test_long_names_keep_a_prefix_and_end_in_a_hash() -> None:
    name = deployment_name("propensity-scorer-production-eu-7d9e8f6a5b")
    assert len(name) <= 32
    assert name.startswith("propensity-scorer-prod")
    assert name == deployment_name("propensity-scorer-production-eu-7d9e8f6a5b")  # deterministic


def test_names_that_differ_only_in_the_tail_do_not_collide() -> None:
    base = "anomaly-detector-isolation-forest-"
    assert deployment_name(base + "aaaa1111") != deployment_name(base + "bbbb2222")


def test_upper_case_and_leading_digits_become_valid() -> None:
    assert _AZURE_NAME.match(deployment_name("9Budget"))
    assert (
        deployment_name("Budget-1") != "Budget-1"
    )  # the SDK lower-cases traffic keys: keep names lower-case


@given(st.text(min_size=1, max_size=80))
def test_every_revision_name_maps_to_a_valid_azure_name(revision: str) -> None:
    assert _AZURE_NAME.match(deployment_name(revision)), deployment_name(revision)


def test_autoscale_setting_name_carries_endpoint_and_deployment() -> None:
    assert autoscale_setting_name("budget-ep", "budget-1") == "budget-ep-budget-1-autoscale"
