"""The security properties each resource must carry, per stack."""

from __future__ import annotations

from typing import Any

from kdap_infra.config import parse_config
from kdap_infra.testing import ProgramRun, run_config
from tests.infra.configs import minimal


def only(run: ProgramRun, token: str) -> dict[str, Any]:
    found = run.of_type(token)
    assert len(found) == 1, token
    return found[0].inputs


def closed(run: ProgramRun) -> str:
    return "Disabled" if run.config.is_prod else "Enabled"


def test_storage_is_entra_only_tls12_https(stack: ProgramRun) -> None:
    st = only(stack, "azure-native:storage:StorageAccount")
    assert st["minimumTlsVersion"] == "TLS1_2"
    assert st["enableHttpsTrafficOnly"] is True
    assert st["allowBlobPublicAccess"] is False
    assert st["allowSharedKeyAccess"] is False
    assert st["allowCrossTenantReplication"] is False
    assert st["publicNetworkAccess"] == closed(stack)
    assert st["networkRuleSet"]["defaultAction"] == ("Deny" if stack.config.is_prod else "Allow")
    for container in stack.of_type("azure-native:storage:BlobContainer"):
        assert container.inputs["publicAccess"] == "None"


def test_key_vault_rbac_soft_delete_purge_protection(stack: ProgramRun) -> None:
    props = only(stack, "azure-native:keyvault:Vault")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert props["publicNetworkAccess"] == closed(stack)
    assert props["tenantId"] == stack.config.tenant_id


def test_registry_has_no_admin_user_or_anonymous_pull(stack: ProgramRun) -> None:
    acr = only(stack, "azure-native:containerregistry:Registry")
    assert acr["adminUserEnabled"] is False
    assert acr["anonymousPullEnabled"] is False
    assert acr["publicNetworkAccess"] == closed(stack)
    assert acr["sku"]["name"] == ("Premium" if stack.config.is_prod else "Standard")


def test_prod_registry_blocks_export_and_prunes_untagged(prod: ProgramRun, dev: ProgramRun) -> None:
    policies = only(prod, "azure-native:containerregistry:Registry")["policies"]
    assert policies["exportPolicy"] == {"status": "disabled"}
    assert policies["retentionPolicy"] == {"status": "enabled", "days": 30}
    assert "policies" not in only(dev, "azure-native:containerregistry:Registry")


def test_prod_data_is_locked_against_deletion(prod: ProgramRun, dev: ProgramRun) -> None:
    locks = {
        r.inputs["scope"]: r.inputs for r in prod.of_type("azure-native:authorization:ManagementLockByScope")
    }
    assert set(locks) == {prod.outputs["storage_account_id"], prod.outputs["log_analytics_id"]}
    assert all(lock["level"] == "CanNotDelete" for lock in locks.values())
    # Never on the workspace: a lock there would also stop the operator deleting old deployments.
    assert prod.outputs["workspace_id"] not in locks
    assert not dev.of_type("azure-native:authorization:ManagementLockByScope")


def test_every_foundation_resource_logs_to_log_analytics(stack: ProgramRun) -> None:
    logs_id = stack.outputs["log_analytics_id"]
    settings = {
        r.inputs["resourceUri"]: r.inputs for r in stack.of_type("azure-native:monitor:DiagnosticSetting")
    }
    assert all(s["workspaceId"] == logs_id for s in settings.values())
    targets = [
        stack.outputs[k]
        for k in (
            "log_analytics_id",
            "app_insights_id",
            "storage_account_id",
            "key_vault_id",
            "container_registry_id",
        )
    ]
    targets += [stack.outputs["workspace_id"], *stack.outputs["online_endpoint_ids"].values()]
    targets.append(stack.outputs["storage_account_id"] + "/blobServices/default")
    missing = [t for t in targets if t not in settings]
    assert missing == []
    assert settings[stack.outputs["key_vault_id"]]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_workspace_identity_and_isolation(stack: ProgramRun) -> None:
    ws = only(stack, "azure-native:machinelearningservices:Workspace")
    identity_id = next(
        r
        for r in stack.of_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.name == "id-workspace"
    )
    assert ws["identity"]["type"] == "UserAssigned"
    assert ws["primaryUserAssignedIdentity"] == ws["identity"]["userAssignedIdentities"][0]
    assert ws["primaryUserAssignedIdentity"].endswith(
        f"/userAssignedIdentities/{identity_id.inputs['resourceName']}"
    )
    assert ws["systemDatastoresAuthMode"] == "identity"
    assert ws["publicNetworkAccess"] == closed(stack)
    expected_isolation = "AllowOnlyApprovedOutbound" if stack.config.is_prod else "AllowInternetOutbound"
    assert ws["managedNetwork"]["isolationMode"] == expected_isolation
    assert ws["hbiWorkspace"] is stack.config.workspace.hbi
    assert ws["imageBuildCompute"] in {
        r.inputs["computeName"] for r in stack.of_type("azure-native:machinelearningservices:Compute")
    }


def test_prod_egress_only_to_approved_hosts(prod: ProgramRun, dev: ProgramRun) -> None:
    network = only(prod, "azure-native:machinelearningservices:Workspace")["managedNetwork"]
    rules = network["outboundRules"]
    assert {r["destination"] for r in rules.values()} == set(prod.config.workspace.approved_fqdns)
    assert all(r["type"] == "FQDN" and r["category"] == "UserDefined" for r in rules.values())
    assert network["firewallSku"] == "Standard"
    assert only(prod, "azure-native:machinelearningservices:Workspace")["provisionNetworkNow"] is True
    dev_network = only(dev, "azure-native:machinelearningservices:Workspace")["managedNetwork"]
    assert "outboundRules" not in dev_network
    assert "firewallSku" not in dev_network


def test_prod_workspace_uses_customer_managed_key(prod: ProgramRun, dev: ProgramRun) -> None:
    ws = only(prod, "azure-native:machinelearningservices:Workspace")
    key = only(prod, "azure-native:keyvault:Key")
    assert key["properties"]["kty"] == "RSA-HSM"
    assert key["properties"]["keyOps"] == ["wrapKey", "unwrapKey"]
    assert only(prod, "azure-native:keyvault:Vault")["properties"]["sku"]["name"] == "premium"
    assert key["properties"]["keySize"] >= 3072
    encryption = ws["encryption"]
    assert encryption["status"] == "Enabled"
    assert encryption["keyVaultProperties"]["keyVaultArmId"] == prod.outputs["key_vault_id"]
    assert encryption["keyVaultProperties"]["keyIdentifier"].startswith("https://")
    assert encryption["identity"]["userAssignedIdentity"] == ws["primaryUserAssignedIdentity"]
    assert "encryption" not in only(dev, "azure-native:machinelearningservices:Workspace")


def test_datastores_hold_no_credentials(stack: ProgramRun) -> None:
    stores = stack.of_type("azure-native:machinelearningservices:Datastore")
    assert {s.inputs["name"] for s in stores} == {"training_data", "inference_data", "batch_outputs"}
    for store in stores:
        props = store.inputs["properties"]
        assert props["credentials"] == {"credentialsType": "None"}
        assert props["serviceDataAccessAuthIdentity"] == "WorkspaceUserAssignedIdentity"


def test_clusters_scale_to_zero_without_local_auth(stack: ProgramRun) -> None:
    clusters = {
        r.inputs["computeName"]: r.inputs
        for r in stack.of_type("azure-native:machinelearningservices:Compute")
        if r.inputs["properties"]["computeType"] == "AmlCompute"
    }
    assert set(clusters) == {"gpu-dedicated", "gpu-spot", "cpu-spot"}
    idle = f"PT{stack.config.compute.idle_minutes}M"
    for compute in clusters.values():
        props = compute["properties"]
        assert props["disableLocalAuth"] is True
        assert props["properties"]["scaleSettings"]["minNodeCount"] == 0
        assert props["properties"]["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] == idle
        assert props["properties"]["enableNodePublicIp"] is False
        assert compute["identity"]["type"] == "UserAssigned"
    reserved = "Dedicated" if stack.config.is_prod else "LowPriority"
    assert clusters["gpu-dedicated"]["properties"]["properties"]["vmPriority"] == reserved
    assert clusters["gpu-dedicated"]["properties"]["properties"]["vmSize"] == "Standard_NC6s_v3"
    assert clusters["gpu-spot"]["properties"]["properties"]["vmPriority"] == "LowPriority"
    assert clusters["cpu-spot"]["properties"]["properties"]["vmPriority"] == "LowPriority"
    gpu_max = clusters["gpu-dedicated"]["properties"]["properties"]["scaleSettings"]["maxNodeCount"]
    assert gpu_max == stack.config.compute.gpu_max_nodes


def test_online_endpoints_take_entra_tokens_only(stack: ProgramRun) -> None:
    for endpoint in stack.of_type("azure-native:machinelearningservices:OnlineEndpoint"):
        props = endpoint.inputs["properties"]
        # Kubernetes online endpoints cannot take Entra tokens: Azure ML tokens, still no keys.
        assert props["authMode"] == ("AADToken" if endpoint.inputs["kind"] == "Managed" else "AMLToken")
        assert props["publicNetworkAccess"] == closed(stack)
        assert "traffic" not in props  # the operator owns traffic
        assert endpoint.inputs["identity"]["type"] == "UserAssigned"


def test_aks_has_oidc_workload_identity_and_no_local_accounts(stack: ProgramRun) -> None:
    aks = only(stack, "azure-native:containerservice:ManagedCluster")
    assert aks["oidcIssuerProfile"] == {"enabled": True}
    assert aks["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert aks["disableLocalAccounts"] is True
    assert aks["aadProfile"]["enableAzureRBAC"] is True
    assert aks["apiServerAccessProfile"]["enablePrivateCluster"] is stack.config.is_prod
    fic = only(stack, "azure-native:managedidentity:FederatedIdentityCredential")
    assert fic["issuer"] == stack.outputs["oidc_issuer_url"]
    assert fic["subject"] == "system:serviceaccount:kdap-system:modeldeploy"
    assert fic["audiences"] == ["api://AzureADTokenExchange"]


def test_ai_services_have_local_auth_off(prod: ProgramRun) -> None:
    accounts = {r.inputs["kind"]: r.inputs for r in prod.of_type("azure-native:cognitiveservices:Account")}
    assert set(accounts) == {"OpenAI", "ContentSafety"}
    for account in accounts.values():
        assert account["properties"]["disableLocalAuth"] is True
        assert account["properties"]["publicNetworkAccess"] == "Disabled"
        assert account["properties"]["customSubDomainName"] == account["accountName"]
    search = only(prod, "azure-native:search:Service")
    assert search["disableLocalAuth"] is True
    assert search["publicNetworkAccess"] == "Disabled"


def test_partner_model_gets_a_marketplace_subscription_first() -> None:
    partner = "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B-Instruct"
    run = run_config(parse_config(minimal(serverless={"enabled": True, "modelId": partner})))
    (subscription,) = run.of_type("azure-native:machinelearningservices:MarketplaceSubscription")
    assert subscription.inputs["properties"] == {"modelId": partner}
    (endpoint,) = run.of_type("azure-native:machinelearningservices:ServerlessEndpoint")
    assert endpoint.inputs["properties"]["modelSettings"]["modelId"] == partner


def test_serverless_endpoint_uses_entra_and_content_safety(stack: ProgramRun) -> None:
    endpoint = only(stack, "azure-native:machinelearningservices:ServerlessEndpoint")
    assert endpoint["properties"]["authMode"] == "AAD"
    assert endpoint["properties"]["contentSafety"] == {"contentSafetyStatus": "Enabled"}
    assert endpoint["properties"]["modelSettings"]["modelId"] == stack.config.serverless.model_id
    assert endpoint["sku"]["name"] == "Consumption"
