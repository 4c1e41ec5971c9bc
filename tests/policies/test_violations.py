"""Each policy passes the compliant stack and fails, alone and with its own message, when one thing breaks."""

from __future__ import annotations

import pytest

from kdap_policies.evaluate import evaluate
from kdap_policies.pack import RULE_NAMES
from tests.policies.cases import Case, compliant_stack, remove, set_prop
from tests.policies.edge_cases import EDGE_CASES
from tests.policies.llm_cases import LLM_CASES

ADMIN = "/providers/Microsoft.Authorization/roleDefinitions/"
TLS10 = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10"
CMK_ON = {"workspace-customer-managed-key": {"requireCustomerManagedKey": True}}

CASES = [
    # storage
    Case(
        "tls-old",
        "storage-minimum-tls",
        set_prop("storage", "minimumTlsVersion", "TLS1_0"),
        ("StorageAccount 'storage'", "minimumTlsVersion", "'TLS1_0', below TLS1_2", "fe83a0eb"),
    ),
    Case("tls-unset", "storage-minimum-tls", set_prop("storage", "minimumTlsVersion"), ("is not set",)),
    Case(
        "http",
        "storage-https-only",
        set_prop("storage", "enableHttpsTrafficOnly", False),
        ("enableHttpsTrafficOnly is false", "enable_https_traffic_only=True", "404c3081"),
    ),
    Case(
        "blob-public",
        "storage-no-public-blob-access",
        set_prop("storage", "allowBlobPublicAccess", True),
        ("allowBlobPublicAccess is true", "allow_blob_public_access=False", "4fa4b6c0"),
    ),
    Case(
        "blob-unset",
        "storage-no-public-blob-access",
        set_prop("storage", "allowBlobPublicAccess"),
        ("allowBlobPublicAccess is not set",),
    ),
    Case(
        "shared-key",
        "storage-no-shared-key",
        set_prop("storage", "allowSharedKeyAccess", True),
        ("allowSharedKeyAccess is true", "allow_shared_key_access=False", "8c6a50c6"),
    ),
    Case(
        "shared-key-unset",
        "storage-no-shared-key",
        set_prop("storage", "allowSharedKeyAccess"),
        ("null means allowed",),
    ),
    Case(
        "storage-open",
        "storage-network-closed-in-prod",
        lambda s: set_prop("storage", "networkRuleSet.defaultAction", "Allow")(
            set_prop("storage", "publicNetworkAccess", "Enabled")(s)
        ),
        ("publicNetworkAccess is Enabled and networkRuleSet.defaultAction is Allow", "env=prod", "b2982f36"),
    ),
    # key vault
    Case(
        "purge",
        "keyvault-purge-protection",
        set_prop("vault", "properties.enablePurgeProtection", False),
        ("Vault 'vault'", "properties.enablePurgeProtection", "0b60c0b2"),
    ),
    Case(
        "retention",
        "keyvault-soft-delete",
        set_prop("vault", "properties.softDeleteRetentionInDays", 5),
        ("softDeleteRetentionInDays is 5, below the required 7 days", "1e66c121"),
    ),
    Case(
        "soft-delete-off",
        "keyvault-soft-delete",
        set_prop("vault", "properties.enableSoftDelete", False),
        ("properties.enableSoftDelete is false",),
    ),
    Case(
        "access-policies",
        "keyvault-rbac-authorization",
        set_prop("vault", "properties.enableRbacAuthorization", False),
        ("enableRbacAuthorization is not true", "12d4fa5e"),
    ),
    Case(
        "vault-open",
        "keyvault-network-closed-in-prod",
        set_prop("vault", "properties.publicNetworkAccess"),
        ("publicNetworkAccess is not set (Enabled) in production", "405c5871"),
    ),
    # workspace
    Case(
        "ws-open",
        "workspace-network-closed-in-prod",
        set_prop("workspace", "publicNetworkAccess", "Enabled"),
        ("Workspace 'workspace': publicNetworkAccess is Enabled in production", "438c38d2"),
    ),
    Case(
        "ws-behind-vnet",
        "workspace-network-closed-in-prod",
        set_prop("workspace", "allowPublicAccessWhenBehindVnet", True),
        ("allowPublicAccessWhenBehindVnet is true",),
    ),
    Case(
        "ws-outbound",
        "workspace-approved-outbound-in-prod",
        set_prop("workspace", "managedNetwork.isolationMode", "AllowInternetOutbound"),
        ("managedNetwork.isolationMode is AllowInternetOutbound", "6ddb1705"),
    ),
    Case(
        "cmk-missing",
        "workspace-customer-managed-key",
        set_prop("workspace", "encryption"),
        ("encryption.status is not set", "ba769a63"),
        CMK_ON,
    ),
    Case(
        "cmk-no-key",
        "workspace-customer-managed-key",
        set_prop("workspace", "encryption.keyVaultProperties.keyIdentifier"),
        ("encryption.keyVaultProperties.keyIdentifier is not set",),
    ),
    Case(
        "hbi",
        "workspace-high-business-impact",
        set_prop("workspace", "hbiWorkspace", False),
        ("hbiWorkspace is not true", "Closest Azure Policy built-in"),
        {"workspace-high-business-impact": {"requireHighBusinessImpact": True}},
    ),
    Case(
        "system-identity",
        "workspace-user-assigned-identity",
        set_prop("workspace", "identity", {"type": "SystemAssigned"}),
        ("identity is SystemAssigned with no user-assigned identity", "5f0c7d88"),
    ),
    Case(
        "primary-stranger",
        "workspace-user-assigned-identity",
        set_prop("workspace", "primaryUserAssignedIdentity", "/x/userAssignedIdentities/other"),
        ("primaryUserAssignedIdentity is not one of identity.userAssignedIdentities",),
    ),
    Case(
        "datastore-keys",
        "workspace-identity-datastores",
        set_prop("workspace", "systemDatastoresAuthMode", "accessKey"),
        ("systemDatastoresAuthMode is accessKey", "system_datastores_auth_mode='identity'"),
    ),
    # compute
    Case(
        "local-auth",
        "compute-local-auth-disabled",
        set_prop("gpu-cluster", "properties.disableLocalAuth", False),
        ("Compute 'gpu-cluster': properties.disableLocalAuth is not true on AmlCompute", "e96a9a5f"),
    ),
    Case(
        "instance-local-auth",
        "compute-local-auth-disabled",
        set_prop("dev-box", "properties.disableLocalAuth"),
        ("Compute 'dev-box'", "on ComputeInstance"),
    ),
    Case(
        "warm-nodes",
        "compute-cluster-scale-to-zero",
        set_prop("gpu-cluster", "properties.properties.scaleSettings.minNodeCount", 2),
        ("minNodeCount is 2: idle nodes are billed", NO_BUILTIN := "No Azure Policy built-in covers this"),
    ),
    Case(
        "huge-cluster",
        "compute-cluster-scale-to-zero",
        set_prop("gpu-cluster", "properties.properties.scaleSettings.maxNodeCount", 500),
        ("maxNodeCount is 500, above 100",),
    ),
    Case(
        "no-scale-down",
        "compute-cluster-idle-scale-down",
        set_prop("gpu-cluster", "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown"),
        ("nodeIdleTimeBeforeScaleDown is not set", "node_idle_time_before_scale_down='PT30M'"),
    ),
    Case(
        "slow-scale-down",
        "compute-cluster-idle-scale-down",
        set_prop("gpu-cluster", "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown", "PT2H"),
        ("is PT2H, longer than PT30M",),
    ),
    Case(
        "bad-duration",
        "compute-cluster-idle-scale-down",
        set_prop("gpu-cluster", "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown", "2 hours"),
        ("is invalid: not an ISO 8601 day/time duration: '2 hours'",),
    ),
    Case(
        "dev-dedicated",
        "compute-cluster-low-priority-outside-prod",
        set_prop("gpu-cluster", "properties.properties.vmPriority", "Dedicated"),
        ("vmPriority is Dedicated outside production (env=dev)", "vm_priority='LowPriority'"),
        env="dev",
    ),
    Case(
        "no-shutdown",
        "compute-instance-idle-shutdown",
        set_prop("dev-box", "properties.properties.idleTimeBeforeShutdown"),
        ("idleTimeBeforeShutdown is not set", "679ddf89"),
    ),
    Case(
        "late-shutdown",
        "compute-instance-idle-shutdown",
        set_prop("dev-box", "properties.properties.idleTimeBeforeShutdown", "P1D"),
        ("is P1D, longer than PT1H",),
    ),
    Case(
        "too-eager-shutdown",
        "compute-instance-idle-shutdown",
        set_prop("dev-box", "properties.properties.idleTimeBeforeShutdown", "PT5M"),
        ("below Azure's 15-minute",),
    ),
    # registry
    Case(
        "acr-admin",
        "registry-admin-user-disabled",
        set_prop("acr", "adminUserEnabled", True),
        ("Registry 'acr': adminUserEnabled is true", "dc921057"),
    ),
    Case(
        "acr-anonymous",
        "registry-anonymous-pull-disabled",
        set_prop("acr", "anonymousPullEnabled", True),
        ("anonymousPullEnabled is true", "9f2dea28"),
    ),
    # API Management
    Case(
        "apim-tls10",
        "apim-legacy-tls-disabled",
        set_prop("apim", ("customProperties", TLS10), "True"),
        ("customProperties does not set 'False' for Protocols.Tls10=True", f"'{TLS10}': 'False'", "ee7495e7"),
    ),
    Case(
        "apim-defaults",
        "apim-legacy-tls-disabled",
        set_prop("apim", "customProperties"),
        ("Backend.Protocols.Tls11=unset", "Ciphers.TripleDes168=unset"),
    ),
    Case(
        "backend-http",
        "apim-backend-https",
        set_prop("scoring-backend", "url", "http://10.0.0.4"),
        ("Backend 'scoring-backend': url is 'http://10.0.0.4'", "92bb331d"),
    ),
    Case(
        "backend-no-chain",
        "apim-backend-https",
        set_prop("scoring-backend", "tls.validateCertificateChain", False),
        ("tls.validateCertificateChain is false",),
    ),
    Case(
        "api-http-service",
        "apim-backend-https",
        set_prop("scoring-api", "serviceUrl", "http://scorer"),
        ("Api 'scoring-api': serviceUrl is 'http://scorer'",),
    ),
    Case(
        "api-http",
        "apim-api-encrypted-protocols",
        set_prop("scoring-api", "protocols", ["http", "https"]),
        ("protocols includes unencrypted http", "ee7495e7"),
    ),
    Case(
        "api-protocols-unset",
        "apim-api-encrypted-protocols",
        set_prop("scoring-api", "protocols"),
        ("protocols is not set",),
    ),
    # RBAC
    Case(
        "owner",
        "rbac-no-privileged-roles",
        set_prop("ds-on-workspace", "roleDefinitionId", ADMIN + "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        ("RoleAssignment 'ds-on-workspace': roleDefinitionId grants Owner", "4f11b553"),
    ),
    Case(
        "uaa",
        "rbac-no-privileged-roles",
        set_prop("ds-on-workspace", "roleDefinitionId", ADMIN + "18D7D88D-D35E-4FB5-A5C3-7773C20A72D9"),
        ("grants User Access Administrator",),
    ),
    Case(
        "subscription-scope",
        "rbac-no-subscription-scope",
        set_prop("ds-on-workspace", "scope", "/subscriptions/00000000-0000-4000-8000-000000000001"),
        ("scope is '/subscriptions/00000000-0000-4000-8000-000000000001'", "resource group"),
    ),
    Case(
        "mg-scope",
        "rbac-no-subscription-scope",
        set_prop("ds-on-workspace", "scope", "/providers/Microsoft.Management/managementGroups/root"),
        ("managementGroups/root",),
    ),
    # tags
    Case(
        "no-owner",
        "required-tags",
        set_prop("acr", "tags.owner"),
        ("Registry 'acr': tags lacks owner", "871b6d14"),
    ),
    Case(
        "blank-cost-center",
        "required-tags",
        set_prop("storage", "tags.cost-center", " "),
        ("lacks cost-center",),
    ),
    Case(
        "env-typo",
        "required-tags",
        set_prop("acr", "tags.env", "production"),
        ("tags['env'] is 'production', not one of dev, test, staging, prod",),
    ),
    # stack
    Case(
        "no-latency-alert",
        "endpoint-alerts",
        remove("fraud-latency"),
        ("OnlineEndpoint 'fraud': alerts include no enabled metric alert", "RequestLatency_P99", NO_BUILTIN),
    ),
    Case(
        "latency-too-lax",
        "endpoint-alerts",
        set_prop(
            "fraud-latency",
            "criteria.allOf",
            [{"metricName": "RequestLatency_P99", "threshold": 60000, "operator": "GreaterThan"}],
        ),
        ("at or below 2000 ms",),
    ),
    Case("no-error-alert", "endpoint-alerts", remove("fraud-errors"), ("statusCodeClass includes 5xx",)),
    Case(
        "silent-alert",
        "endpoint-alerts",
        set_prop("fraud-errors", "actions", []),
        ("statusCodeClass includes 5xx",),
    ),
    Case(
        "disabled-alert",
        "endpoint-alerts",
        set_prop("fraud-latency", "enabled", False),
        ("RequestLatency_P90",),
    ),
    Case(
        "alert-elsewhere",
        "endpoint-alerts",
        set_prop("fraud-errors", "scopes", [WORKSPACE_ID := "/x/ws"]),
        ("statusCodeClass includes 5xx",),
    ),
    Case(
        "no-budget",
        "budget-exists",
        lambda s: remove("fraud-budget")(remove("budget")(s)),
        ("Stack '*': resources include no consumption.Budget",),
        config={"endpoint-budget-and-cost-tags": "disabled"},
    ),
    Case("zero-budget", "budget-exists", set_prop("budget", "amount", 0), ("Budget 'budget': amount is 0",)),
    Case(
        "mute-budget",
        "budget-exists",
        set_prop("budget", "notifications.actual80.contactEmails", []),
        ("notifications has no enabled notification with a threshold and recipients",),
    ),
    Case(
        "vault-unlogged",
        "diagnostics-to-log-analytics",
        remove("vault-logs"),
        ("Vault 'vault': diagnosticSettings include none", "cf820ca0"),
    ),
    Case(
        "ws-logs-off",
        "diagnostics-to-log-analytics",
        set_prop("workspace-logs", "logs", [{"categoryGroup": "allLogs", "enabled": False}]),
        ("Workspace 'workspace'", "afe0c3be"),
    ),
    Case(
        "apim-to-storage",
        "diagnostics-to-log-analytics",
        set_prop("apim-logs", "workspaceId"),
        ("ApiManagementService 'apim'", "567c93f7"),
    ),
]


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_compliant_stack_passes_every_policy(env: str) -> None:
    assert evaluate(compliant_stack(env)) == []


CASES += EDGE_CASES + LLM_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_violation_is_reported_by_its_own_policy(case: Case) -> None:
    violations = case.run()
    assert {v.policy for v in violations} == {case.policy}, [v.message for v in violations]
    text = "\n".join(v.message for v in violations)
    for fragment in case.fragments:
        assert fragment in text
    assert all("Fix: " in v.message for v in violations)


def test_every_policy_has_a_violation_case() -> None:
    assert sorted({c.policy for c in CASES}) == sorted(RULE_NAMES)


def test_stack_violations_point_at_the_resource_at_fault() -> None:
    (violation,) = Case("x", "diagnostics-to-log-analytics", remove("vault-logs"), ()).run()
    assert violation.urn is not None
    assert violation.urn.endswith("::vault")
    no_budgets = Case("y", "budget-exists", lambda s: remove("fraud-budget")(remove("budget")(s)), ())
    (stackwide,) = [v for v in no_budgets.run() if v.policy == "budget-exists"]
    assert stackwide.urn is None
