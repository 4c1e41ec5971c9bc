"""A compliant kdap stack built by hand (prod or dev), and helpers to break one property of it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from kdap_policies.apim import LEGACY_SETTINGS
from kdap_policies.evaluate import Declared, Violation, evaluate

SUB = "/subscriptions/00000000-0000-4000-8000-000000000001"
RG = f"{SUB}/resourceGroups/rg-kdap"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw-kdap"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-kdap"
APIM = f"{RG}/providers/Microsoft.ApiManagement/service/apim-kdap"
LAW = f"{RG}/providers/Microsoft.OperationalInsights/workspaces/log-kdap"
UAI = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-kdap"
ENDPOINT = f"{WS}/onlineEndpoints/fraud"
SERVERLESS = f"{WS}/serverlessEndpoints/llama"
CALLER_ROLE = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-0000000000ca"
ACTION_GROUP = f"{RG}/providers/Microsoft.Insights/actionGroups/ag-oncall"
DATA_SCIENTIST = (
    f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/f6c7c914-8db3-469d-8ca1-694a8f32e121"
)


# The edge and the bill (#19): a backend with a circuit breaker the API's policy routes to, an endpoint's
# cost-allocation tags and its own budget.
BREAKER_RULE = {
    "name": "model-failures",
    "acceptRetryAfter": True,
    "tripDuration": "PT30S",
    "failureCondition": {
        "count": 5,
        "interval": "PT1M",
        "statusCodeRanges": [{"min": 429, "max": 429}, {"min": 500, "max": 599}],
    },
}
ROUTED_POLICY = (
    '<policies><inbound><base /><set-backend-service backend-id="scoring" /></inbound>'
    "<backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"
)
COST_TAGS = {"model": "fraud", "modeldeployment": "ml/fraud", "team": "risk"}
# LLM endpoints (#20): an LLM API whose policy limits tokens and screens prompts; a keyless OpenAI account.
LLM_POLICY = (
    "<policies><inbound><base />"
    '<llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="20000" '
    'token-quota="1000000" token-quota-period="Monthly" />'
    '<llm-content-safety backend-id="content-safety" shield-prompt="true">'
    '<categories output-type="FourSeverityLevels"><category name="Hate" threshold="4" /></categories>'
    "</llm-content-safety>"
    '<set-backend-service backend-id="scoring" /></inbound>'
    "<backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>"
)


def _endpoint_budget() -> dict[str, Any]:
    def note(pct: int) -> dict[str, Any]:
        return {"enabled": True, "threshold": pct, "thresholdType": "Actual", "contactEmails": ["risk@x.io"]}

    return {
        "scope": RG,
        "amount": 100,
        "category": "Cost",
        "timeGrain": "Monthly",
        "filter": {"tags": {"name": "modeldeployment", "operator": "In", "values": ["ml/fraud"]}},
        "notifications": {"actual-80": note(80), "actual-100": note(100)},
    }


def tags(env: str) -> dict[str, str]:
    return {"env": env, "owner": "ml-platform", "cost-center": "cc-1234"}


def _storage(env: str) -> dict[str, Any]:
    return {
        "accountName": "stkdap",
        "minimumTlsVersion": "TLS1_2",
        "enableHttpsTrafficOnly": True,
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        "publicNetworkAccess": "Disabled",
        "networkRuleSet": {"defaultAction": "Deny", "bypass": "AzureServices"},
        "tags": tags(env),
    }


def _vault(env: str) -> dict[str, Any]:
    properties = {
        "tenantId": "11111111-1111-4111-8111-111111111111",
        "sku": {"family": "A", "name": "standard"},
        "enablePurgeProtection": True,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enableRbacAuthorization": True,
        "publicNetworkAccess": "Disabled",
    }
    return {"vaultName": "kv-kdap", "properties": properties, "tags": tags(env)}


def _workspace(env: str) -> dict[str, Any]:
    return {
        "workspaceName": "mlw-kdap",
        "publicNetworkAccess": "Disabled",
        "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": [UAI]},
        "primaryUserAssignedIdentity": UAI,
        "systemDatastoresAuthMode": "identity",
        "hbiWorkspace": True,
        "encryption": {
            "status": "Enabled",
            "keyVaultProperties": {
                "keyIdentifier": "https://kv-kdap.vault.azure.net/keys/cmk",
                "keyVaultArmId": VAULT,
            },
            "identity": {"userAssignedIdentity": UAI},
        },
        "tags": tags(env),
    }


def _cluster(env: str) -> dict[str, Any]:
    scale = {"minNodeCount": 0, "maxNodeCount": 4, "nodeIdleTimeBeforeScaleDown": "PT15M"}
    priority = "Dedicated" if env == "prod" else "LowPriority"
    inner = {"vmSize": "Standard_NC6s_v3", "vmPriority": priority, "scaleSettings": scale}
    props = {"computeType": "AmlCompute", "disableLocalAuth": True, "properties": inner}
    return {"computeName": "gpu", "workspaceName": "mlw-kdap", "properties": props, "tags": tags(env)}


def _instance(env: str) -> dict[str, Any]:
    inner = {"vmSize": "Standard_DS3_v2", "idleTimeBeforeShutdown": "PT30M"}
    props = {"computeType": "ComputeInstance", "disableLocalAuth": True, "properties": inner}
    return {"computeName": "dev-box", "workspaceName": "mlw-kdap", "properties": props, "tags": tags(env)}


def _apim(env: str) -> dict[str, Any]:
    custom = dict.fromkeys(LEGACY_SETTINGS, "False")
    return {"serviceName": "apim-kdap", "customProperties": custom, "tags": tags(env)}


def _alert(name: str, criterion: dict[str, Any], env: str) -> Declared:
    props = {
        "ruleName": name,
        "scopes": [ENDPOINT],
        "enabled": True,
        "severity": 1,
        "criteria": {
            "odataType": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            "allOf": [criterion],
        },
        "actions": [{"actionGroupId": ACTION_GROUP}],
        "tags": tags(env),
    }
    return Declared("azure-native:monitor:MetricAlert", name, props)


def _diagnostics(name: str, target: str) -> Declared:
    props = {
        "name": name,
        "resourceUri": target,
        "workspaceId": LAW,
        "logs": [{"categoryGroup": "allLogs", "enabled": True}],
    }
    return Declared("azure-native:monitor:DiagnosticSetting", name, props)


def compliant_stack(env: str) -> list[Declared]:
    """Every resource kind the pack judges, each declared as the pack wants it for `env`."""
    latency = {
        "criterionType": "StaticThresholdCriterion",
        "name": "p99",
        "metricName": "RequestLatency_P99",
        "operator": "GreaterThan",
        "threshold": 500,
        "timeAggregation": "Average",
    }
    errors = {
        "criterionType": "StaticThresholdCriterion",
        "name": "5xx",
        "metricName": "RequestsPerMinute",
        "operator": "GreaterThan",
        "threshold": 5,
        "timeAggregation": "Total",
        "dimensions": [{"name": "statusCodeClass", "operator": "Include", "values": ["5xx"]}],
    }
    budget = {
        "budgetName": "kdap-monthly",
        "scope": RG,
        "amount": 500,
        "category": "Cost",
        "timeGrain": "Monthly",
        "notifications": {
            "actual80": {
                "enabled": True,
                "threshold": 80,
                "operator": "GreaterThan",
                "contactEmails": ["oncall@example.com"],
            }
        },
    }
    return [
        Declared(
            "azure-native:resources:ResourceGroup", "rg", {"resourceGroupName": "rg-kdap", "tags": tags(env)}
        ),
        Declared("azure-native:storage:StorageAccount", "storage", _storage(env)),
        Declared(
            "azure-native:monitor:SubscriptionDiagnosticSetting",
            "activity-log",
            {
                "name": f"kdap-{env}-activity-log",
                "workspaceId": LAW,
                "logs": [{"category": c, "enabled": True} for c in ("Administrative", "Security", "Policy")],
            },
        ),
        Declared("azure-native:keyvault:Vault", "vault", _vault(env)),
        Declared("azure-native:machinelearningservices:Workspace", "workspace", _workspace(env)),
        Declared("azure-native:machinelearningservices:Compute", "gpu-cluster", _cluster(env)),
        Declared("azure-native:machinelearningservices:Compute", "dev-box", _instance(env)),
        Declared(
            "azure-native:containerregistry:Registry",
            "acr",
            {
                "registryName": "acrkdap",
                "adminUserEnabled": False,
                "anonymousPullEnabled": False,
                "tags": tags(env),
            },
        ),
        Declared("azure-native:apimanagement:ApiManagementService", "apim", _apim(env)),
        Declared(
            "azure-native:apimanagement:Backend",
            "scoring-backend",
            {
                "serviceName": "apim-kdap",
                "backendId": "scoring",
                "protocol": "http",
                "url": "https://fraud.westeurope.inference.ml.azure.com",
                "tls": {"validateCertificateChain": True, "validateCertificateName": True},
                "circuitBreaker": {"rules": [BREAKER_RULE]},
            },
        ),
        Declared(
            "azure-native:apimanagement:ApiPolicy",
            "scoring-policy",
            {"serviceName": "apim-kdap", "apiId": "score", "format": "rawxml", "value": ROUTED_POLICY},
        ),
        Declared(
            "azure-native:apimanagement:Api",
            "scoring-api",
            {
                "serviceName": "apim-kdap",
                "apiId": "score",
                "path": "score",
                "protocols": ["https"],
                "serviceUrl": "https://fraud.westeurope.inference.ml.azure.com",
            },
        ),
        Declared(
            "azure-native:authorization:RoleAssignment",
            "ds-on-workspace",
            {
                "scope": WS,
                "roleDefinitionId": DATA_SCIENTIST,
                "principalId": "p",
                "principalType": "Group",
                "description": "kdap persona deployer: azureml-data-scientist on the workspace",
            },
        ),
        Declared(
            "azure-native:machinelearningservices:OnlineEndpoint",
            "fraud",
            {
                "endpointName": "fraud",
                "workspaceName": "mlw-kdap",
                "tags": tags(env) | COST_TAGS,
                "properties": {"authMode": "AADToken"},
            },
        ),
        _alert("fraud-latency", latency, env),
        _alert("fraud-errors", errors, env),
        Declared("azure-native:consumption:Budget", "budget", budget),
        Declared("azure-native:consumption:Budget", "fraud-budget", _endpoint_budget()),
        _diagnostics("workspace-logs", WS),
        _diagnostics("vault-logs", VAULT),
        _diagnostics("apim-logs", APIM),
        *_llm(env),
    ]


def _llm(env: str) -> list[Declared]:
    return [
        Declared(
            "azure-native:apimanagement:ApiPolicy",
            "llm-policy",
            {"serviceName": "apim-kdap", "apiId": "llm-llama", "format": "rawxml", "value": LLM_POLICY},
        ),
        Declared(
            "azure-native:apimanagement:Api",
            "llm-api",
            {
                "serviceName": "apim-kdap",
                "apiId": "llm-llama",
                "path": "llm/llama",
                "protocols": ["https"],
                "serviceUrl": "https://llama.westeurope.models.ai.azure.com",
            },
        ),
        Declared(
            "azure-native:machinelearningservices:ServerlessEndpoint",
            "llama",
            {
                "name": "llama",
                "workspaceName": "mlw-kdap",
                "properties": {"authMode": "AAD", "modelSettings": {"modelId": "azureml://registries/x"}},
                "tags": tags(env),
            },
        ),
        Declared(
            "azure-native:authorization:RoleAssignment",
            "gateway-calls-llama",
            {
                "scope": SERVERLESS,
                "roleDefinitionId": CALLER_ROLE,
                "principalId": "gateway",
                "principalType": "ServicePrincipal",
                "description": "the LLM API calls the serverless endpoint with Entra tokens",
            },
        ),
        Declared(
            "azure-native:cognitiveservices:Account",
            "openai",
            {
                "accountName": "kdap-openai",
                "kind": "OpenAI",
                "properties": {"disableLocalAuth": True, "customSubDomainName": "kdap-openai"},
                "tags": tags(env),
            },
        ),
    ]


# ---- breaking one thing ----

_DROP = object()
Mutation = Callable[[list[Declared]], list[Declared]]


def set_prop(resource: str, path: str | tuple[str, ...], value: Any = _DROP) -> Mutation:
    """Set (or, without a value, delete) one property of the named resource, by dotted path or key tuple."""

    def mutate(stack: list[Declared]) -> list[Declared]:
        out = []
        for r in stack:
            if r.name == resource:
                props = copy.deepcopy(dict(r.props))
                *parents, leaf = path.split(".") if isinstance(path, str) else path
                node = props
                for key in parents:
                    node = node.setdefault(key, {})
                if value is _DROP:
                    node.pop(leaf, None)
                else:
                    node[leaf] = value
                r = replace(r, props=props)
            out.append(r)
        if not any(r.name == resource for r in stack):
            raise KeyError(f"no resource named {resource!r} in the case stack")
        return out

    return mutate


def remove(resource: str) -> Mutation:
    def mutate(stack: list[Declared]) -> list[Declared]:
        if not any(r.name == resource for r in stack):
            raise KeyError(f"no resource named {resource!r} in the case stack")
        return [r for r in stack if r.name != resource]

    return mutate


@dataclass(frozen=True)
class Case:
    """One violation: the policy that must fire, what breaks, and text its message must contain."""

    id: str
    policy: str
    mutation: Mutation
    fragments: tuple[str, ...]
    config: dict[str, Any] = field(default_factory=dict)
    env: str = "prod"

    def run(self) -> list[Violation]:
        return evaluate(self.mutation(compliant_stack(self.env)), self.config)
