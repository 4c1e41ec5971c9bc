"""Azure Resource Manager refuses a resource whose tag names hold '<', '>', '%', '&', '\\', '?' or '/' (or
are over 512 characters, or values over 256): every tag either stack writes, and every tag key of the
contract the operator writes on what it creates, must be one ARM accepts (the Kubernetes-style
``kdap.io/owner`` was not: no endpoint could have been created with it)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from kdap_infra.testing import ProgramRun
from modeldeploy.api import azure_names, platform
from modeldeploy.backends.azureml import batch_build
from tests.backends.azureml.fakes import check_arm_tags


def _tag_dicts(stack: ProgramRun) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for r in stack.resources:
        tags = r.inputs.get("tags") if r.type.startswith("azure-native:") else None
        if isinstance(tags, dict):  # API Management named values take a list of labels instead
            found.append((f"{r.type} {r.name}", tags))
    return found


def test_every_tag_either_stack_writes_is_one_arm_accepts(stack: ProgramRun) -> None:
    tagged = _tag_dicts(stack)
    assert len(tagged) > 20
    for where, tags in tagged:
        try:
            check_arm_tags(tags)  # ARM's rule, as the fake workspaces apply it to what the operator creates
        except HttpResponseError as refused:
            pytest.fail(f"{where}: {refused.message}")


def test_the_contracts_tag_names_are_ones_arm_accepts() -> None:
    names = [
        azure_names.TAG_OWNER,
        azure_names.TAG_OWNER_UID,
        azure_names.TAG_REVISION,
        azure_names.TAG_SPEC_HASH,
        azure_names.TAG_STARTED_AT,
        platform.TAG_PLATFORM,
        batch_build.TAG_TRIGGER,
        *platform.COST_TAGS,
    ]
    for name in names:
        check_arm_tags({name: "x"})  # raises as ARM does


def test_the_fake_workspace_refuses_a_tag_name_as_arm_does() -> None:
    with pytest.raises(HttpResponseError, match=r"The tag name 'kdap\.io/owner' has reserved characters"):
        check_arm_tags({"kdap.io/owner": "ml/fraud"})
    with pytest.raises(HttpResponseError, match="value over 256 characters"):
        check_arm_tags({"model": "m" * 257})
