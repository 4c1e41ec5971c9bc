"""Role assignments: built-in ids, narrowest scopes, ServicePrincipal principals, nothing broad."""

from __future__ import annotations

import uuid
from typing import Any

from kdap_infra.rbac import SCORE_ACTION, SERVERLESS_READ_ACTION
from kdap_infra.roles import OWNER, Role
from kdap_infra.testing import SUBSCRIPTION_ID, ProgramRun


def assignments(run: ProgramRun) -> set[tuple[str, str, str]]:
    """(identity, role guid, scope kind) for every workload identity's assignment (groups: test_personas)."""
    principals = {
        r.name.removeprefix("id-"): r.inputs["resourceName"]
        for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
    }
    by_principal_id = {_principal_id(run, name): who for who, name in principals.items()}
    out = set()
    for ra in run.of_type("azure-native:authorization:RoleAssignment"):
        if ra.inputs.get("principalType") == "Group":
            continue
        role = ra.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        out.add((by_principal_id[ra.inputs["principalId"]], role, scope_kind(run, ra.inputs["scope"])))
    return out


def _principal_id(run: ProgramRun, physical: str) -> str:
    from kdap_infra.testing import fake_guid

    return fake_guid(f"principal/{physical}")


def scope_kind(run: ProgramRun, scope: str) -> str:
    out = run.outputs
    named = {
        out["storage_account_id"]: "storage",
        out["key_vault_id"]: "vault",
        out["container_registry_id"]: "registry",
        out["workspace_id"]: "workspace",
        out["app_insights_id"]: "app-insights",
        out["log_analytics_id"]: "log-analytics",
        out["batch_output_container_id"]: "batch-outputs",
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{out['resource_group_name']}": "resource-group",
    }
    named |= {v: f"endpoint:{k}" for k, v in out["online_endpoint_ids"].items()}
    named |= {out.get(k, "-"): k.removesuffix("_id") for k in ("openai_id", "search_id", "content_safety_id")}
    named |= {role_definition(run, "named-value-writer").inputs["scope"]: "apim"}
    if "serverless_endpoint_id" in out:
        named[out["serverless_endpoint_id"]] = "serverless-endpoint"
    if out.get("llm_content_safety_id") not in named:  # the LLM API's own account (no AI services)
        named[out["llm_content_safety_id"]] = "llm_content_safety"
    if "/keys/" in scope:
        return "cmk-key"
    if scope == workspace_blobstore(run):
        return "workspace-blobstore"
    return named[scope]


def workspace_blobstore(run: ProgramRun) -> str:
    """The default datastore's container, as Azure ML names it from the workspace's immutable id."""
    from kdap_infra.testing import fake_guid

    (workspace,) = run.of_type("azure-native:machinelearningservices:Workspace")
    guid = fake_guid(f"workspace/{workspace.inputs['workspaceName']}")
    return f"{run.outputs['storage_account_id']}/blobServices/default/containers/azureml-blobstore-{guid}"


def role_definition(run: ProgramRun, label: str) -> Any:
    (definition,) = [
        r for r in run.of_type("azure-native:authorization:RoleDefinition") if r.name == f"role-{label}"
    ]
    return definition


def custom_role_guid(run: ProgramRun, label: str = "endpoint-scorer") -> str:
    guid: str = role_definition(run, label).inputs["roleDefinitionId"]
    return guid


def test_grants_are_exactly_the_narrow_set(dev: ProgramRun) -> None:
    scorer = custom_role_guid(dev)
    expected = {
        ("workspace", Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "storage"),
        ("workspace", Role.KEY_VAULT_ADMINISTRATOR, "vault"),
        ("workspace", Role.ACR_PUSH, "registry"),
        ("workspace", Role.CONTRIBUTOR, "workspace"),
        ("compute", Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "storage"),
        ("compute", Role.ACR_PULL, "registry"),
        ("compute", Role.KEY_VAULT_SECRETS_USER, "vault"),
        ("compute", Role.AZUREML_DATA_SCIENTIST, "workspace"),
        ("endpoints", Role.STORAGE_BLOB_DATA_READER, "storage"),
        ("endpoints", Role.ACR_PULL, "registry"),
        ("endpoints", Role.KEY_VAULT_SECRETS_USER, "vault"),
        ("operator", Role.STORAGE_BLOB_DATA_READER, "storage"),
        ("operator", Role.AZUREML_DATA_SCIENTIST, "workspace"),
        ("operator", Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "workspace-blobstore"),  # Spark job code uploads
        ("operator", Role.MONITORING_READER, "workspace"),
        ("operator", Role.MONITORING_CONTRIBUTOR, "resource-group"),
        ("operator", custom_role_guid(dev, "named-value-writer"), "apim"),
        ("operator", Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "batch-outputs"),  # batch jobs write as the invoker
        ("gateway", Role.MONITORING_METRICS_PUBLISHER, "app-insights"),
        ("gateway", scorer, "endpoint:budget-optimizer"),
        ("gateway", scorer, "endpoint:propensity-scorer"),
        ("gateway", scorer, "endpoint:anomaly-detector"),
        ("gateway", Role.COGNITIVE_SERVICES_USER, "llm_content_safety"),  # the LLM API screens prompts
        ("gateway", custom_role_guid(dev, "serverless-caller"), "serverless-endpoint"),  # and calls the model
        ("operator", Role.LOG_ANALYTICS_READER, "log-analytics"),  # adapter analysis reads token metrics
    }
    assert assignments(dev) == {(who, str(role), scope) for who, role, scope in expected}


def test_prod_adds_cmk_and_ai_service_grants(prod: ProgramRun, dev: ProgramRun) -> None:
    extra = assignments(prod) - assignments(dev)
    scorer = custom_role_guid(prod)
    per_stack = {("gateway", scorer, f"endpoint:{e}") for e in (e.name for e in prod.config.endpoints)}
    per_stack.add(("operator", custom_role_guid(prod, "named-value-writer"), "apim"))  # a role per stack
    per_stack.add(("gateway", custom_role_guid(prod, "serverless-caller"), "serverless-endpoint"))
    assert extra - per_stack == {
        ("workspace", Role.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER.value, "cmk-key"),
        ("endpoints", Role.COGNITIVE_SERVICES_OPENAI_USER.value, "openai"),
        ("endpoints", Role.COGNITIVE_SERVICES_USER.value, "content_safety"),
        ("endpoints", Role.SEARCH_INDEX_DATA_READER.value, "search"),
        ("gateway", Role.COGNITIVE_SERVICES_USER.value, "content_safety"),  # the AI services' account
    }


def _workload_assignments(run: ProgramRun) -> list[Any]:
    # People's groups (principalType Group) are the personas': tests/infra/test_personas.py.
    every = run.of_type("azure-native:authorization:RoleAssignment")
    return [ra for ra in every if ra.inputs["principalType"] != "Group"]


def test_every_assignment_survives_replication_delay_and_is_a_guid(stack: ProgramRun) -> None:
    for ra in _workload_assignments(stack):
        assert ra.inputs["principalType"] == "ServicePrincipal"
        uuid.UUID(ra.inputs["roleAssignmentName"])
        prefix = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/"
        assert ra.inputs["roleDefinitionId"].startswith(prefix)
        assert ra.inputs["description"]


def test_nothing_broad_is_granted(stack: ProgramRun) -> None:
    for ra in _workload_assignments(stack):
        role = ra.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        scope = ra.inputs["scope"]
        assert role != OWNER
        assert scope.count("/") > 2, "never at subscription scope"
        if scope.endswith(f"/resourceGroups/{stack.outputs['resource_group_name']}"):
            assert role == Role.MONITORING_CONTRIBUTOR, "only autoscale writes need the resource group"
        if role == Role.CONTRIBUTOR:
            assert scope == stack.outputs["workspace_id"]


def test_the_operator_writes_only_named_values_on_the_gateway(stack: ProgramRun) -> None:
    inputs = role_definition(stack, "named-value-writer").inputs
    (service,) = stack.of_type("azure-native:apimanagement:ApiManagementService")
    assert inputs["scope"].endswith(f"/service/{service.inputs['serviceName']}")
    assert inputs["assignableScopes"] == [inputs["scope"]]
    assert inputs["permissions"] == [
        {
            "actions": [
                "Microsoft.ApiManagement/service/read",
                "Microsoft.ApiManagement/service/namedValues/read",
                "Microsoft.ApiManagement/service/namedValues/write",
            ]
        }
    ]


def test_custom_scorer_role_only_scores(stack: ProgramRun) -> None:
    inputs = role_definition(stack, "endpoint-scorer").inputs
    assert inputs["assignableScopes"] == [stack.outputs["workspace_id"]]
    assert inputs["permissions"] == [
        {"actions": ["Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read", SCORE_ACTION]}
    ]
    assert stack.config.unique_suffix in inputs["roleName"]


def test_the_gateway_may_only_call_the_serverless_endpoint(stack: ProgramRun) -> None:
    inputs = role_definition(stack, "serverless-caller").inputs
    assert inputs["assignableScopes"] == [stack.outputs["workspace_id"]]
    # Neither listKeys (keys AAD mode avoids) nor write/delete (what AzureML Data Scientist adds).
    assert inputs["permissions"] == [{"actions": [SERVERLESS_READ_ACTION]}]
    assert SERVERLESS_READ_ACTION.endswith("/workspaces/serverlessEndpoints/read")
    guid = inputs["roleDefinitionId"]
    holders = [
        ra.inputs for ra in _workload_assignments(stack) if ra.inputs["roleDefinitionId"].endswith(guid)
    ]
    # Exactly one holder, the gateway, on the endpoint itself (never the workspace).
    assert [(h["principalId"], h["scope"]) for h in holders] == [
        (_principal_id(stack, _physical(stack, "gateway")), stack.outputs["serverless_endpoint_id"])
    ]
    assert "/serverlessEndpoints/" in stack.outputs["serverless_endpoint_id"]


def _physical(run: ProgramRun, workload: str) -> str:
    (identity,) = [
        r
        for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.name == f"id-{workload}"
    ]
    name: str = identity.inputs["resourceName"]
    return name


def test_assignment_names_are_stable_across_runs(dev: ProgramRun) -> None:
    from kdap_infra.testing import run_stack

    again = run_stack("dev")
    first = sorted(
        r.inputs["roleAssignmentName"] for r in dev.of_type("azure-native:authorization:RoleAssignment")
    )
    second = sorted(
        r.inputs["roleAssignmentName"] for r in again.of_type("azure-native:authorization:RoleAssignment")
    )
    assert first == second


def test_drift_pushdown_needs_only_a_code_upload_container_beyond_what_was_granted(stack: ProgramRun) -> None:
    """The operator creates Spark jobs (AzureML Data Scientist on the workspace) and, the system datastores
    being identity-based, uploads their code as itself: into the default container only, never the data
    containers. The job runs as the workspace's identity, which reads the data and writes the job's
    output on the account already."""
    granted = assignments(stack)
    operator_storage = {
        (role, scope)
        for who, role, scope in granted
        if who == "operator" and scope in ("storage", "workspace-blobstore")
    }
    assert operator_storage == {
        (Role.STORAGE_BLOB_DATA_READER.value, "storage"),  # in-process reads and the pushdown's listing
        (Role.STORAGE_BLOB_DATA_CONTRIBUTOR.value, "workspace-blobstore"),
    }
    assert ("operator", Role.AZUREML_DATA_SCIENTIST.value, "workspace") in granted
    assert ("workspace", Role.STORAGE_BLOB_DATA_CONTRIBUTOR.value, "storage") in granted
    (upload,) = [
        ra
        for ra in stack.of_type("azure-native:authorization:RoleAssignment")
        if ra.inputs["scope"] == workspace_blobstore(stack)
    ]
    assert upload.inputs["description"] == "uploads the drift Spark job's entry file"
