"""The Azure Policy built-in definitions that kdap's policies mirror, cited in every violation."""

from __future__ import annotations

from dataclasses import dataclass

_PORTAL = (
    "https://portal.azure.com/#blade/Microsoft_Azure_Policy/PolicyDetailBlade/definitionId/"
    "%2Fproviders%2FMicrosoft.Authorization%2FpolicyDefinitions%2F"
)


@dataclass(frozen=True)
class BuiltIn:
    """A built-in policy definition; `exact` is False where kdap's rule only approximates it."""

    id: str
    title: str
    exact: bool = True

    @property
    def url(self) -> str:
        return _PORTAL + self.id

    def cite(self) -> str:
        lead = "Azure Policy built-in" if self.exact else "Closest Azure Policy built-in"
        return f"{lead} {self.id} ({self.title})."


def closest(builtin: BuiltIn) -> BuiltIn:
    return BuiltIn(builtin.id, builtin.title, exact=False)


# Machine Learning
ML_PUBLIC_NETWORK = BuiltIn(
    "438c38d2-3772-465a-a9cc-7a6666a275ce",
    "Azure Machine Learning Workspaces should disable public network access",
)
ML_APPROVED_OUTBOUND = BuiltIn(
    "6ddb1705-c8cf-450e-aa4b-19ad6703c440",
    "Azure Machine Learning workspaces should use approved-outbound managed network",
)
ML_CMK = BuiltIn(
    "ba769a63-b8cc-4b2d-abf6-ac33c7204be8",
    "Azure Machine Learning workspaces should be encrypted with a customer-managed key",
)
ML_USER_ASSIGNED_IDENTITY = BuiltIn(
    "5f0c7d88-c7de-45b8-ac49-db49e72eaa78",
    "Azure Machine Learning workspaces should use user-assigned managed identity",
)
ML_COMPUTE_LOCAL_AUTH = BuiltIn(
    "e96a9a5f-07ca-471b-9bc5-6a0f33cbd68f",
    "Azure Machine Learning Computes should have local authentication disabled",
)
ML_INSTANCE_IDLE_SHUTDOWN = BuiltIn(
    "679ddf89-ab8f-48a5-9029-e76054077449",
    "Azure Machine Learning Compute Instance should have idle shutdown",
)
ML_RESOURCE_LOGS = BuiltIn(
    "afe0c3be-ba3b-4544-ba52-0c99672a8ad6",
    "Resource logs in Azure Machine Learning Workspaces should be enabled",
)

# Storage
STORAGE_MIN_TLS = BuiltIn(
    "fe83a0eb-a853-422d-aac2-1bffd182c5d0", "Storage accounts should have the specified minimum TLS version"
)
STORAGE_SECURE_TRANSFER = BuiltIn(
    "404c3081-a854-4457-ae30-26a93ef643f9", "Secure transfer to storage accounts should be enabled"
)
STORAGE_NO_PUBLIC_BLOB = BuiltIn(
    "4fa4b6c0-31ca-4c0d-b10d-24b96f62a751", "Storage account public access should be disallowed"
)
STORAGE_SHARED_KEY = BuiltIn(
    "8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54", "Storage accounts should prevent shared key access"
)
STORAGE_PUBLIC_NETWORK = BuiltIn(
    "b2982f36-99f2-4db5-8eff-283140c09693", "Storage accounts should disable public network access"
)

# Key Vault
KV_PURGE_PROTECTION = BuiltIn(
    "0b60c0b2-2dc2-4e1c-b5c9-abbed971de53", "Key vaults should have deletion protection enabled"
)
KV_SOFT_DELETE = BuiltIn("1e66c121-a66a-4b1f-9b83-0fd99bf0fc2d", "Key vaults should have soft delete enabled")
KV_RBAC = BuiltIn("12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5", "Azure Key Vault should use RBAC permission model")
KV_PUBLIC_NETWORK = BuiltIn(
    "405c5871-3e91-4644-8a63-58e19d68ff5b", "Azure Key Vault should disable public network access"
)
KV_RESOURCE_LOGS = BuiltIn(
    "cf820ca0-f99e-4f3e-84fb-66e913812d21", "Resource logs in Key Vault should be enabled"
)

# Container Registry
ACR_ADMIN = BuiltIn(
    "dc921057-6b28-4fbe-9b83-f7bec05db6c2", "Container registries should have local admin account disabled"
)
ACR_ANONYMOUS_PULL = BuiltIn(
    "9f2dea28-e834-476c-99c5-3507b4728395",
    "Container registries should have anonymous authentication disabled",
)

# API Management
APIM_ENCRYPTED_PROTOCOLS = BuiltIn(
    "ee7495e7-3ba7-40b6-bfee-c29e22cc75d4", "API Management APIs should use only encrypted protocols"
)
APIM_BACKEND_CERT_VALIDATION = BuiltIn(
    "92bb331d-ac71-416a-8c91-02f2cb734ce4",
    "API Management calls to API backends should not bypass certificate thumbprint or name validation",
)
APIM_LOGS = BuiltIn(
    "567c93f7-3661-494f-a30f-0a94d9bfebf8",
    "Enable logging by category group for API Management services to Log Analytics",
)
ACTIVITY_LOG_TO_WORKSPACE = BuiltIn(
    "2465583e-4e78-4c15-b6be-a36cbc7c8b0f",
    "Configure Azure Activity logs to stream to specified Log Analytics workspace",
)

# Governance
REQUIRE_TAG = BuiltIn("871b6d14-10aa-478d-b590-94f262ecfa99", "Require a tag on resources")
MAX_THREE_OWNERS = BuiltIn(
    "4f11b553-d42e-4e3a-89be-32ca364cad4c", "A maximum of 3 owners should be designated for your subscription"
)

# Azure AI Services (Azure OpenAI, Content Safety)
AI_LOCAL_AUTH = BuiltIn(
    "71ef260a-8f18-47b7-abcb-62d0673d94dc",
    "Azure AI Services resources should have key access disabled (disable local authentication)",
)
