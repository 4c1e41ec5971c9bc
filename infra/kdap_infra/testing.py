"""Run the program without the Pulumi CLI or Azure: `pulumi.runtime.set_mocks` plus a recording monitor.

`run_program("dev")` loads Pulumi.dev.yaml through the same config model as `pulumi up`, evaluates the whole
composition and returns every registered resource, for unit tests and for the policy pack's own tests.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.rpc import _special_secret_sig as rpc_secret_sig
from pulumi.runtime.rpc import _special_sig_key as rpc_sig_key
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from kdap_infra.config import PlatformConfig, load_stack_file

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "kdap-platform"
SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
_MOCK_NAMESPACE = uuid.UUID("0d7e3c59-0c4a-4c1e-8b0b-9f3a1c2d4e5f")


@dataclass(frozen=True)
class RegisteredResource:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None
    urn: str = ""
    custom: bool = True
    secret_inputs: frozenset[str] = frozenset()  # top-level inputs that were marked secret (shown unwrapped)


@dataclass
class ProgramRun:
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    seconds: float  # wall clock
    config: PlatformConfig
    cpu_seconds: float = 0.0  # this process's CPU time, steadier than wall clock on a shared machine

    def of_type(self, token: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == token]

    def named(self, token: str, name: str) -> RegisteredResource:
        matches = [r for r in self.of_type(token) if r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} resources of type {token} named {name}")
        return matches[0]


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
    "azure-native:machinelearningservices:OnlineEndpoint": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{n}",
        "endpointName",
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
    "azure-native:apimanagement:Logger": (
        "Microsoft.ApiManagement/service/{serviceName}/loggers/{n}",
        "loggerId",
    ),
    "azure-native:apimanagement:Diagnostic": (
        "Microsoft.ApiManagement/service/{serviceName}/diagnostics/{n}",
        "diagnosticId",
    ),
    "azure-native:apimanagement:Backend": (
        "Microsoft.ApiManagement/service/{serviceName}/backends/{n}",
        "backendId",
    ),
    "azure-native:apimanagement:NamedValue": (
        "Microsoft.ApiManagement/service/{serviceName}/namedValues/{n}",
        "namedValueId",
    ),
    "azure-native:monitor:ActionGroup": ("Microsoft.Insights/actionGroups/{n}", "actionGroupName"),
    "azure-native:monitor:MetricAlert": ("Microsoft.Insights/metricAlerts/{n}", "ruleName"),
    "azure-native:monitor:ScheduledQueryRule": ("Microsoft.Insights/scheduledQueryRules/{n}", "ruleName"),
    "azure-native:containerservice:ManagedCluster": (
        "Microsoft.ContainerService/managedClusters/{n}",
        "resourceName",
    ),
    "azure-native:cognitiveservices:Account": ("Microsoft.CognitiveServices/accounts/{n}", "accountName"),
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
        state = {**inputs, "name": physical, **self._computed(args.typ, physical, inputs)}
        identity = state.get("identity")
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

    @staticmethod
    def _computed(token: str, physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
        kind = token.split(":")[-1]
        if kind == "UserAssignedIdentity":
            return {
                "clientId": fake_guid(f"client/{physical}"),
                "principalId": fake_guid(f"principal/{physical}"),
                "tenantId": fake_guid("tenant"),
            }
        if token == "azure-native:keyvault:Vault":
            return {
                "properties": {
                    **inputs.get("properties", {}),
                    "vaultUri": f"https://{physical}.vault.azure.net/",
                }
            }
        if token == "azure-native:keyvault:Key":
            return {
                "keyUri": f"https://vault.vault.azure.net/keys/{physical}",
                "keyUriWithVersion": f"https://vault.vault.azure.net/keys/{physical}/0123",
            }
        if token == "azure-native:applicationinsights:Component":
            return {
                "instrumentationKey": fake_guid(physical),
                "connectionString": f"InstrumentationKey={fake_guid(physical)}",
            }
        if token == "azure-native:machinelearningservices:OnlineEndpoint":
            region = inputs.get("location", "westeurope")
            uri = f"https://{physical}.{region}.inference.ml.azure.com/score"
            return {"properties": {**inputs.get("properties", {}), "scoringUri": uri}}
        if token == "azure-native:apimanagement:ApiManagementService":
            return {"gatewayUrl": f"https://{physical}.azure-api.net"}
        if token == "azure-native:containerservice:ManagedCluster":
            region = inputs.get("location", "westeurope")
            issuer = f"https://{region}.oic.prod-aks.azure.com/{fake_guid('tenant')}/{fake_guid(physical)}/"
            return {"oidcIssuerProfile": {"enabled": True, "issuerURL": issuer}}
        if token == "azure-native:cognitiveservices:Account":
            return {
                "properties": {
                    **inputs.get("properties", {}),
                    "endpoint": f"https://{physical}.cognitiveservices.azure.com/",
                }
            }
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, also remembering each registration's parent and type (components included)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.registered.append(
                RegisteredResource(
                    type=request.type,
                    name=request.name,
                    inputs=_plain(inputs),
                    secret_inputs=frozenset(k for k, v in inputs.items() if _is_secret(v)),
                    parent=request.parent or None,
                    urn=response.urn,
                    custom=bool(request.custom),
                )
            )
        return response


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc_sig_key) == rpc_secret_sig


def _plain(value: Any) -> Any:
    """Inputs as a policy pack sees them: secrets unwrapped, nested values plain."""
    if _is_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def stack_file(stack: str) -> Path:
    return REPO_ROOT / f"Pulumi.{stack}.yaml"


def run_config(config: PlatformConfig, stack: str = "test") -> ProgramRun:
    """Evaluate the composition for an already-validated config."""
    from kdap_infra.program import build_platform

    monitor = RecordingMonitor(PlatformMocks())
    pulumi.runtime.settings.reset_options()
    pulumi.runtime.set_mocks(PlatformMocks(), project=PROJECT, stack=stack, preview=False, monitor=monitor)
    collected: dict[str, Any] = {}

    def program() -> None:
        outputs = build_platform(config)
        pulumi.Output.all(**outputs).apply(collected.update)

    started, cpu_started = time.perf_counter(), time.process_time()
    _sync_await(run_pulumi_func(program))
    return ProgramRun(
        resources=list(monitor.registered),
        outputs=collected,
        seconds=time.perf_counter() - started,
        config=config,
        cpu_seconds=time.process_time() - cpu_started,
    )


def run_stack(stack: str) -> ProgramRun:
    return run_config(load_stack_file(str(stack_file(stack))), stack)


def run_program(stack: str) -> list[RegisteredResource]:
    """Every resource (components included) the program registers for Pulumi.<stack>.yaml."""
    return run_stack(stack).resources
