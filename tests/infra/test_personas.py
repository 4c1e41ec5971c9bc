"""People's access: each persona's Entra ID groups get exactly their roles, at the narrowest scope."""

from __future__ import annotations

import pytest

from kdap_infra.config import ConfigError, parse_config
from kdap_infra.personas import DESCRIPTION_PREFIX, PERSONA_ROLES, Persona, groups_of
from kdap_infra.roles import OWNER, Role
from kdap_infra.testing import ProgramRun
from tests.infra.configs import minimal

# Roles that could hand out access: no persona gets them.
ACCESS_ADMIN = {OWNER, "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "f58310d9-a9f6-439a-9e8d-f62e7b41a168"}


def _group_grants(run: ProgramRun) -> set[tuple[str, str, str]]:
    """(group, role GUID, scope) of every assignment to a group."""
    return {
        (r.inputs["principalId"], r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"])
        for r in run.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs.get("principalType") == "Group"
    }


def test_each_persona_gets_exactly_its_roles_at_its_scope(stack: ProgramRun) -> None:
    out = stack.outputs
    scope_ids = {
        "workspace": out["workspace_id"],
        "log_analytics": out["log_analytics_id"],
        "container_registry": out["container_registry_id"],
        "resource_group": out["workspace_id"].split("/providers/")[0],
    }
    expected = {
        (group, role.value, scope_ids[scope])
        for persona, groups in groups_of(stack.config.personas).items()
        for group in groups
        for role, scope in PERSONA_ROLES[persona]
    }
    assert len(expected) == 6  # each stack names one group per persona
    assert _group_grants(stack) == expected


def test_reader_reads_and_only_admin_writes_the_resource_group(stack: ProgramRun) -> None:
    roles = {p: {role for role, _ in PERSONA_ROLES[p]} for p in Persona}
    assert roles[Persona.READER] == {Role.READER, Role.LOG_ANALYTICS_READER}
    assert Role.CONTRIBUTOR not in roles[Persona.DEPLOYER]
    assert {scope for _, scope in PERSONA_ROLES[Persona.ADMIN]} == {"resource_group"}
    grants = _group_grants(stack)
    assert not {role for _, role, _ in grants} & ACCESS_ADMIN
    assert all(scope.count("/") > 2 for _, _, scope in grants), "never at subscription scope"


def test_assignments_say_which_persona_they_serve(stack: ProgramRun) -> None:
    groups = {g: p for p, gs in groups_of(stack.config.personas).items() for g in gs}
    for r in stack.of_type("azure-native:authorization:RoleAssignment"):
        if r.inputs.get("principalType") != "Group":
            continue
        description: str = r.inputs["description"]
        assert description.startswith(f"{DESCRIPTION_PREFIX}{groups[r.inputs['principalId']]}:")


# Review (#19): group ids the stack config must refuse, naming the key.
GROUP = "3f2a1c9e-0000-4000-8000-00000000000a"


def _personas_error(personas: dict[str, list[str]]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(personas=personas))
    return str(caught.value)


def test_a_group_in_two_personas_is_refused_naming_both_keys() -> None:
    # Listed as a reader and an admin, the "read-only" group would hold Contributor on the resource group.
    message = _personas_error({"readers": [GROUP], "admins": ["5b6c0000-0000-4000-8000-000000000001", GROUP]})
    assert message == (
        "invalid stack configuration:\n"
        f"  kdap-platform:personas.admins[1] {GROUP!r} is also kdap-platform:personas.readers[0]: "
        "a group has one access level. Fix: list each group under one persona, once"
    )


def test_a_group_repeated_in_other_case_is_refused() -> None:
    # Azure compares object ids without case; two entries would be two assignments of one role, and the
    # second fails with RoleAssignmentExists mid-deployment.
    message = _personas_error({"deployers": [GROUP, GROUP.upper()]})
    assert message == (
        "invalid stack configuration:\n"
        f"  kdap-platform:personas.deployers[1] {GROUP.upper()!r} is also "
        "kdap-platform:personas.deployers[0]: a group has one access level. "
        "Fix: list each group under one persona, once"
    )


def test_a_group_id_that_is_not_a_guid_names_its_key() -> None:
    message = _personas_error({"readers": ["ml-readers"]})
    key = "kdap-platform:personas.readers[0]"
    assert message.startswith(f"invalid stack configuration:\n  {key}: is invalid (")
    assert message.endswith(
        f"got 'ml-readers'). Fix: set `{key}` to Entra ID group object ids (GUIDs) "
        "that may watch models, metrics and logs"
    )


@pytest.mark.parametrize(
    ("version", "refused"), [("1.29.9", True), ("1.29", True), ("1.30", False), ("1.33.2", False)]
)
def test_the_operator_install_needs_a_cluster_that_enforces_the_status_policy(
    version: str, refused: bool
) -> None:
    # The install ships a ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30+): on an
    # older cluster the apply fails, or a deployer's status writes go unchecked.
    raw = minimal(aks={"enabled": True, "installOperator": True, "kubernetesVersion": version}, operator={})
    if not refused:
        assert parse_config(raw).aks.kubernetes_version == version
        return
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert str(caught.value) == (
        "invalid stack configuration:\n"
        f"  kdap-platform:aks.kubernetesVersion is {version}, but the operator install's status admission "
        "policy (deploy/kustomize/base/personas.yaml) needs Kubernetes 1.30 or later. "
        "Fix: set it to 1.30 or later, or leave it unset for AKS's default"
    )
