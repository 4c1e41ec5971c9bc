"""Mocks that answer like Azure: ARM ids, physical names, identities' ids, endpoints' URLs."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import pulumi

SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
_MOCK_NAMESPACE = uuid.UUID("0d7e3c59-0c4a-4c1e-8b0b-9f3a1c2d4e5f")


# token -> (ARM id under the resource group, the input holding the physical name)
_ARM: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": ("", "resourceGroupName"),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces/{n}",
        "workspaceName",
    ),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components/{n}", "resourceName"),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts/{n}", "accountName"),
    "azure-native:storage:BlobServiceProperties": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/{n}",
        "blobServicesName",
    ),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults/{n}", "vaultName"),
    "azure-native:keyvault:Key": ("Microsoft.KeyVault/vaults/{vaultName}/keys/{n}", "keyName"),
    "azure-native:containerregistry:Registry": ("Microsoft.ContainerRegistry/registries/{n}", "registryName"),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{n}",
        "resourceName",
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{n}",
        "federatedIdentityCredentialResourceName",
    ),
    "azure-native:machinelearningservices:Workspace": (
        "Microsoft.MachineLearningServices/workspaces/{n}",
        "workspaceName",
    ),
    "azure-native:machinelearningservices:Compute": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/computes/{n}",
        "computeName",
    ),
    "azure-native:machinelearningservices:Datastore": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/datastores/{n}",
        "name",
    ),
    "azure-native:machinelearningservices:Registry": (
        "Microsoft.MachineLearningServices/registries/{n}",
        "registryName",
    ),
    "azure-native:kubernetesconfiguration:Extension": (
        "Microsoft.ContainerService/managedClusters/{clusterName}/providers/"
        "Microsoft.KubernetesConfiguration/extensions/{n}",
        "extensionName",
    ),
    "azure-native:machinelearningservices:OnlineEndpoint": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{n}",
        "endpointName",
    ),
    "azure-native:machinelearningservices:OnlineDeployment": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{endpointName}/"
        "deployments/{n}",
        "deploymentName",
    ),
    "azure-native:machinelearningservices:EnvironmentVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/environments/{name}/versions/{n}",
        "version",
    ),
    "azure-native:machinelearningservices:ServerlessEndpoint": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/serverlessEndpoints/{n}",
        "name",
    ),
    "azure-native:apimanagement:ApiManagementService": ("Microsoft.ApiManagement/service/{n}", "serviceName"),
    "azure-native:apimanagement:Api": ("Microsoft.ApiManagement/service/{serviceName}/apis/{n}", "apiId"),
    "azure-native:apimanagement:ApiPolicy": (
        "Microsoft.ApiManagement/service/{serviceName}/apis/{apiId}/policies/{n}",
        "policyId",
    ),
    "azure-native:apimanagement:Backend": (
        "Microsoft.ApiManagement/service/{serviceName}/backends/{n}",
        "backendId",
    ),
    "azure-native:apimanagement:NamedValue": (
        "Microsoft.ApiManagement/service/{serviceName}/namedValues/{n}",
        "namedValueId",
    ),
    "azure-native:apimanagement:Product": (
        "Microsoft.ApiManagement/service/{serviceName}/products/{n}",
        "productId",
    ),
    "azure-native:apimanagement:Subscription": (
        "Microsoft.ApiManagement/service/{serviceName}/subscriptions/{n}",
        "sid",
    ),
    "azure-native:apimanagement:Logger": (
        "Microsoft.ApiManagement/service/{serviceName}/loggers/{n}",
        "loggerId",
    ),
    "azure-native:apimanagement:Diagnostic": (
        "Microsoft.ApiManagement/service/{serviceName}/diagnostics/{n}",
        "diagnosticId",
    ),
    "azure-native:monitor:ActionGroup": ("Microsoft.Insights/actionGroups/{n}", "actionGroupName"),
    "azure-native:monitor:MetricAlert": ("Microsoft.Insights/metricAlerts/{n}", "ruleName"),
    "azure-native:monitor:ScheduledQueryRule": ("Microsoft.Insights/scheduledQueryRules/{n}", "ruleName"),
    "azure-native:containerservice:ManagedCluster": (
        "Microsoft.ContainerService/managedClusters/{n}",
        "resourceName",
    ),
    "azure-native:cognitiveservices:Account": ("Microsoft.CognitiveServices/accounts/{n}", "accountName"),
    "azure-native:cognitiveservices:Deployment": (
        "Microsoft.CognitiveServices/accounts/{accountName}/deployments/{n}",
        "deploymentName",
    ),
    "azure-native:cognitiveservices:RaiPolicy": (
        "Microsoft.CognitiveServices/accounts/{accountName}/raiPolicies/{n}",
        "raiPolicyName",
    ),
    "azure-native:search:Service": ("Microsoft.Search/searchServices/{n}", "searchServiceName"),
    "azure-native:network:VirtualNetwork": ("Microsoft.Network/virtualNetworks/{n}", "virtualNetworkName"),
    "azure-native:network:NetworkSecurityGroup": (
        "Microsoft.Network/networkSecurityGroups/{n}",
        "networkSecurityGroupName",
    ),
    "azure-native:network:PublicIPAddress": (
        "Microsoft.Network/publicIPAddresses/{n}",
        "publicIpAddressName",
    ),
    "azure-native:network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints/{n}", "privateEndpointName"),
    "azure-native:network:PrivateDnsZoneGroup": (
        "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{n}",
        "privateDnsZoneGroupName",
    ),
    "azure-native:privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones/{n}", "privateZoneName"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{n}",
        "virtualNetworkLinkName",
    ),
    "azure-native:machinelearningservices:MarketplaceSubscription": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/marketplaceSubscriptions/{n}",
        "name",
    ),
    "azure-native:apimanagement:ApiOperation": (
        "Microsoft.ApiManagement/service/{serviceName}/apis/{apiId}/operations/{n}",
        "operationId",
    ),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{n}",
        "containerName",
    ),
}

# Resources whose id hangs off another resource's id rather than the resource group.
_EXTENSION_IDS: dict[str, tuple[str, str, str]] = {
    "azure-native:authorization:RoleAssignment": (
        "scope",
        "Microsoft.Authorization/roleAssignments",
        "roleAssignmentName",
    ),
    "azure-native:authorization:RoleDefinition": (
        "scope",
        "Microsoft.Authorization/roleDefinitions",
        "roleDefinitionId",
    ),
    "azure-native:monitor:DiagnosticSetting": (
        "resourceUri",
        "Microsoft.Insights/diagnosticSettings",
        "name",
    ),
    "azure-native:consumption:Budget": ("scope", "Microsoft.Consumption/budgets", "budgetName"),
    "azure-native:authorization:ManagementLockByScope": (
        "scope",
        "Microsoft.Authorization/locks",
        "lockName",
    ),
}


def fake_guid(seed: str) -> str:
    return str(uuid.uuid5(_MOCK_NAMESPACE, seed))


class PlatformMocks(pulumi.runtime.Mocks):
    """Answers like Azure would: ARM ids, names, identities' client ids, endpoints' URLs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs: dict[str, Any] = dict(args.inputs)
        physical = self._physical_name(args.typ, args.name, inputs)
        resource_id = self._arm_id(args.typ, physical, inputs)
        computed = _COMPUTED.get(args.typ)
        state = {**inputs, "name": physical, **(computed(physical, inputs) if computed else {})}
        identity = state.get("identity")
        if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type", "")):
            # A system-assigned identity's principal exists once the resource does.
            state["identity"] = identity = {
                **identity,
                "principalId": fake_guid(f"principal/{resource_id}"),
                "tenantId": fake_guid("tenant"),
            }
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Azure answers with a map keyed by identity id, though inputs take a list in v3.
            uais = identity["userAssignedIdentities"]
            state["identity"] = {
                **identity,
                "userAssignedIdentities": {i: {"clientId": fake_guid(i)} for i in uais},
            }
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": fake_guid("tenant"),
                "clientId": fake_guid("client"),
                "objectId": fake_guid("deployer"),
            }, []
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            return {"kubeconfigs": [{"name": "clusterUser", "value": mock_kubeconfig(args.args)}]}, []
        return {}, []

    @staticmethod
    def _physical_name(token: str, logical: str, inputs: dict[str, Any]) -> str:
        key = _ARM.get(token, ("", ""))[1] or _EXTENSION_IDS.get(token, ("", "", ""))[2]
        value = inputs.get(key) if key else None
        return str(value) if value else logical

    @staticmethod
    def _arm_id(token: str, physical: str, inputs: dict[str, Any]) -> str:
        if token in _EXTENSION_IDS:
            base_key, kind, _ = _EXTENSION_IDS[token]
            return f"{inputs.get(base_key, '/')}/providers/{kind}/{physical}".replace("//", "/")
        group = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{inputs.get('resourceGroupName', physical)}"
        if token not in _ARM:
            return f"{group}/providers/Mock.{token.split(':')[1]}/{token.split(':')[2]}/{physical}"
        template = _ARM[token][0]
        if not template:
            return group
        fields = {k: v for k, v in inputs.items() if isinstance(v, str)}
        return f"{group}/providers/" + template.format(n=physical, **fields)


def _with_properties(inputs: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {"properties": {**inputs.get("properties", {}), **extra}}


def _identity(name: str, _: dict[str, Any]) -> dict[str, Any]:
    return {
        "clientId": fake_guid(f"client/{name}"),
        "principalId": fake_guid(f"principal/{name}"),
        "tenantId": fake_guid("tenant"),
    }


def _key(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    uri = f"https://{inputs.get('vaultName', 'vault')}.vault.azure.net/keys/{name}"
    return {"keyUri": uri, "keyUriWithVersion": f"{uri}/0123456789abcdef"}


def _app_insights(name: str, _: dict[str, Any]) -> dict[str, Any]:
    key = fake_guid(name)
    return {"instrumentationKey": key, "connectionString": f"InstrumentationKey={key}"}


def _online_endpoint(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = inputs.get("location", "westeurope")
    return _with_properties(inputs, scoringUri=f"https://{name}.{region}.inference.ml.azure.com/score")


def _serverless_endpoint(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = inputs.get("location", "westeurope")
    uri = f"https://{name}.{region}.models.ai.azure.com"
    return {"properties": {**inputs.get("properties", {}), "inferenceEndpoint": {"uri": uri}}}


def _aks(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    region = inputs.get("location", "westeurope")
    issuer = f"https://{region}.oic.prod-aks.azure.com/{fake_guid('tenant')}/{fake_guid(name)}/"
    return {"oidcIssuerProfile": {"enabled": True, "issuerURL": issuer}}


# Outputs Azure computes, per type token: (physical name, inputs) -> extra state.
_COMPUTED: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:keyvault:Vault": lambda n, i: _with_properties(i, vaultUri=f"https://{n}.vault.azure.net/"),
    "azure-native:keyvault:Key": _key,
    "azure-native:applicationinsights:Component": _app_insights,
    "azure-native:machinelearningservices:OnlineEndpoint": _online_endpoint,
    "azure-native:machinelearningservices:Workspace": lambda n, _: {
        "workspaceId": fake_guid(f"workspace/{n}")
    },
    "azure-native:machinelearningservices:ServerlessEndpoint": _serverless_endpoint,
    "azure-native:apimanagement:ApiManagementService": lambda n, _: {
        "gatewayUrl": f"https://{n}.azure-api.net"
    },
    "azure-native:containerservice:ManagedCluster": _aks,
    "azure-native:cognitiveservices:Account": lambda n, i: _with_properties(
        i, endpoint=f"https://{n}.cognitiveservices.azure.com/"
    ),
}


def mock_kubeconfig(args: dict[str, Any]) -> str:
    """A base64 kubeconfig like AKS returns, naming the cluster it was asked for (kubelogin exec format)."""
    name = str(args.get("resourceName", "aks"))
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": f"https://{name}.hcp.example.azmk8s.io:443"}}],
        "users": [
            {
                "name": f"clusterUser_{name}",
                "user": {
                    "exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin"}
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"clusterUser_{name}"}}],
        "current-context": name,
    }
    return base64.b64encode(json.dumps(config).encode()).decode()
