"""Who may do what: the grants each workload needs, in two batches around the workspace's creation."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import keyvault

from kdap_infra.ai_services import AiServices
from kdap_infra.foundation import Foundation
from kdap_infra.identities import Identities, Workload
from kdap_infra.rbac import CustomRole, Grant
from kdap_infra.roles import Role


def _grant(
    ids: Identities,
    who: Workload,
    role: Role | CustomRole,
    scope_name: str,
    scope: pulumi.Input[str],
    why: str,
) -> Grant:
    return Grant(who.value, ids[who].principal_id, role, scope_name, scope, why)


def foundation_grants(foundation: Foundation, ids: Identities, cmk_key: keyvault.Key | None) -> list[Grant]:
    """Grants on shared resources; the workspace validates its identity's access when it is created."""
    st, kv, acr = foundation.storage.id, foundation.key_vault.id, foundation.registry.id
    ws, cp, ep, op = Workload.WORKSPACE, Workload.COMPUTE, Workload.ENDPOINTS, Workload.OPERATOR
    grants = [
        _grant(
            ids, ws, Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "storage", st, "workspace artifacts and datastores"
        ),
        _grant(ids, ws, Role.KEY_VAULT_ADMINISTRATOR, "vault", kv, "the workspace keeps connection secrets"),
        _grant(ids, ws, Role.ACR_PUSH, "registry", acr, "environment image builds"),
        _grant(
            ids, cp, Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "storage", st, "jobs read data and write outputs"
        ),
        _grant(ids, cp, Role.ACR_PULL, "registry", acr, "jobs pull environment images"),
        _grant(ids, cp, Role.KEY_VAULT_SECRETS_USER, "vault", kv, "jobs read connection secrets"),
        _grant(ids, ep, Role.STORAGE_BLOB_DATA_READER, "storage", st, "deployments download models"),
        _grant(ids, ep, Role.ACR_PULL, "registry", acr, "deployments pull serving images"),
        _grant(ids, ep, Role.KEY_VAULT_SECRETS_USER, "vault", kv, "deployments read their secrets"),
        _grant(
            ids,
            op,
            Role.STORAGE_BLOB_DATA_READER,
            "storage",
            st,
            "the operator reads inference data for drift",
        ),
    ]
    if cmk_key is not None:
        grants.append(
            _grant(
                ids, ws, Role.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, "cmk-key", cmk_key.id, "wraps the CMK"
            )
        )
    return grants


def workspace_grants(
    ids: Identities,
    resource_group_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    default_container_id: pulumi.Input[str],
) -> list[Grant]:
    """``default_container_id``: the workspace's default blob container (workspaceblobstore)."""
    ws, cp, op = Workload.WORKSPACE, Workload.COMPUTE, Workload.OPERATOR
    return [
        _grant(
            ids, ws, Role.CONTRIBUTOR, "workspace", workspace_id, "the workspace manages its own children"
        ),
        _grant(
            ids, cp, Role.AZUREML_DATA_SCIENTIST, "workspace", workspace_id, "jobs log runs, register models"
        ),
        _grant(
            ids,
            op,
            Role.AZUREML_DATA_SCIENTIST,
            "workspace",
            workspace_id,
            "deployments, traffic, drift Spark jobs",
        ),
        # The system datastores are identity-based, so azure-ai-ml uploads a Spark job's code as the caller:
        # the operator writes only into the workspace's default container, never the data containers. (The
        # job itself runs as the workspace's identity, which already reads and writes the account.)
        _grant(
            ids,
            op,
            Role.STORAGE_BLOB_DATA_CONTRIBUTOR,
            "workspace-blobstore",
            default_container_id,
            "uploads the drift Spark job's entry file",
        ),
        _grant(ids, op, Role.MONITORING_READER, "workspace", workspace_id, "endpoint metrics for analysis"),
        # Autoscale settings are resource-group resources, so this is the narrowest scope that works.
        _grant(ids, op, Role.MONITORING_CONTRIBUTOR, "resource-group", resource_group_id, "autoscale writes"),
    ]


def batch_output_grant(ids: Identities, container_id: pulumi.Input[str]) -> Grant:
    """Batch jobs the operator invokes write their outputs on identity-based datastores as the invoker, so
    the operator writes there, and only there (it reads the rest of the account)."""
    op = Workload.OPERATOR
    return _grant(
        ids, op, Role.STORAGE_BLOB_DATA_CONTRIBUTOR, "batch-outputs", container_id, "batch runs' outputs"
    )


def operator_gateway_grant(ids: Identities, writer: CustomRole, service_id: pulumi.Input[str]) -> Grant:
    op = Workload.OPERATOR
    return _grant(ids, op, writer, "apim", service_id, "the promoted model version in each cache key")


def gateway_grants(
    ids: Identities,
    app_insights_id: pulumi.Input[str],
    scorer: CustomRole,
    endpoint_ids: dict[str, pulumi.Input[str]],
) -> list[Grant]:
    gw = Workload.GATEWAY
    grants = [
        _grant(
            ids,
            gw,
            Role.MONITORING_METRICS_PUBLISHER,
            "app-insights",
            app_insights_id,
            "APIM logs via Entra ID",
        ),
    ]
    grants += [
        _grant(ids, gw, scorer, f"endpoint-{key}", endpoint_id, "the gateway calls this endpoint")
        for key, endpoint_id in endpoint_ids.items()
    ]
    return grants


def ai_service_grants(ids: Identities, ai: AiServices) -> list[Grant]:
    ep = Workload.ENDPOINTS
    return [
        _grant(
            ids, ep, Role.COGNITIVE_SERVICES_OPENAI_USER, "openai", ai.openai.id, "personalization prompts"
        ),
        _grant(
            ids, ep, Role.COGNITIVE_SERVICES_USER, "content-safety", ai.content_safety.id, "moderate outputs"
        ),
        _grant(ids, ep, Role.SEARCH_INDEX_DATA_READER, "search", ai.search.id, "retrieve candidates"),
    ]


def llm_grants(
    ids: Identities,
    content_safety_id: pulumi.Input[str],
    caller: CustomRole,
    endpoint_id: pulumi.Input[str],
    endpoint_kind: str,
    log_analytics_id: pulumi.Input[str],
) -> list[Grant]:
    """``caller``: serverless-caller on a serverless endpoint, endpoint-scorer on a managed one."""
    gw = Workload.GATEWAY
    return [
        # Analysis of an adapter version reads the LLM API's token metrics there (provider logAnalytics).
        _grant(
            ids,
            Workload.OPERATOR,
            Role.LOG_ANALYTICS_READER,
            "log-analytics",
            log_analytics_id,
            "LLM token metrics for adapter analysis",
        ),
        _grant(
            ids,
            gw,
            Role.COGNITIVE_SERVICES_USER,
            "llm-content-safety",
            content_safety_id,
            "screen LLM prompts",
        ),
        # On the endpoint, not the workspace: the gateway reaches this model and no other.
        _grant(
            ids,
            gw,
            caller,
            "llm-endpoint" if endpoint_kind == "managed" else "serverless-endpoint",
            endpoint_id,
            f"the LLM API calls the {endpoint_kind} endpoint with Entra tokens",
        ),
    ]


def managed_llm_grants(
    principal_id: pulumi.Input[str], ml_registry_id: pulumi.Input[str], acr_id: pulumi.Input[str]
) -> list[Grant]:
    """The managed LLM endpoint's own identity: read adapter versions (and their files) from the model
    registry, and pull the server image; nothing in the workspace."""
    who = "llm-endpoint"
    return [
        Grant(
            who, principal_id, Role.AZUREML_REGISTRY_USER, "ml-registry", ml_registry_id, "load LoRA adapters"
        ),
        Grant(who, principal_id, Role.ACR_PULL, "registry", acr_id, "pull the multi-LoRA server image"),
    ]
