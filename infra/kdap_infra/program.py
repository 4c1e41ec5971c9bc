"""The composition: one component per concern, wired in dependency order. Returns the stack outputs."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import authorization, keyvault

from kdap_infra.access import foundation_grants, workspace_grants
from kdap_infra.aks import OperatorCluster
from kdap_infra.compute import ComputeClusters
from kdap_infra.config import PlatformConfig
from kdap_infra.endpoints import OnlineEndpoints
from kdap_infra.foundation import Foundation
from kdap_infra.identities import Identities, Workload
from kdap_infra.naming import Naming
from kdap_infra.rbac import AccessGrants
from kdap_infra.workspace import MlWorkspace


def _cmk_key(config: PlatformConfig, foundation: Foundation) -> keyvault.Key | None:
    if not config.workspace.customer_managed_key:
        return None
    return keyvault.Key(
        "cmk-key",
        key_name="workspace-cmk",
        vault_name=foundation.key_vault.name,
        resource_group_name=foundation.resource_group.name,
        properties=keyvault.KeyPropertiesArgs(kty="RSA", key_size=3072, key_ops=["wrapKey", "unwrapKey"]),
        opts=pulumi.ResourceOptions(parent=foundation),
    )


def build_platform(config: PlatformConfig) -> dict[str, Any]:
    naming = Naming.of(config)
    subscription_id = authorization.get_client_config_output().subscription_id
    foundation = Foundation("foundation", config, naming)
    rg = foundation.resource_group.name
    cluster = (
        OperatorCluster("operator-cluster", config, naming, rg, foundation.log_analytics.id)
        if config.aks.enabled
        else None
    )
    issuer: pulumi.Input[str] = cluster.oidc_issuer_url if cluster else str(config.operator.oidc_issuer_url)
    ids = Identities("identities", config, naming, rg, issuer)
    cmk_key = _cmk_key(config, foundation)
    before = AccessGrants(
        "foundation-access", naming, subscription_id, foundation_grants(foundation, ids, cmk_key)
    )
    workspace = MlWorkspace(
        "ml-workspace",
        config,
        naming,
        foundation,
        ids[Workload.WORKSPACE],
        cmk_key,
        opts=pulumi.ResourceOptions(depends_on=[before]),
    )
    ws_name = workspace.workspace.name
    ComputeClusters("compute", config, naming, rg, ws_name, ids[Workload.COMPUTE])
    endpoints = OnlineEndpoints(
        "online-endpoints", config, naming, rg, ws_name, ids[Workload.ENDPOINTS], foundation.log_analytics.id
    )
    AccessGrants(
        "workspace-access",
        naming,
        subscription_id,
        workspace_grants(ids, foundation.resource_group.id, workspace.workspace.id),
    )
    outputs: dict[str, Any] = {
        "resource_group_name": rg,
        "workspace_name": ws_name,
        "workspace_id": workspace.workspace.id,
        "log_analytics_id": foundation.log_analytics.id,
        "app_insights_id": foundation.app_insights.id,
        "storage_account_id": foundation.storage.id,
        "key_vault_id": foundation.key_vault.id,
        "container_registry_id": foundation.registry.id,
        "online_endpoint_ids": {k: v.id for k, v in endpoints.endpoints.items()},
        "identity_client_ids": {w.value: i.client_id for w, i in ids.by_workload.items()},
        "operator_client_id": ids[Workload.OPERATOR].client_id,
        "oidc_issuer_url": issuer,
    }
    return outputs
