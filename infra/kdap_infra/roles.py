"""Built-in Azure role definition ids (GUIDs are the same in every tenant)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AZUREML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
    AZUREML_REGISTRY_USER = "1823dd4f-9b8c-4ab6-ab4e-7397a3684615"
    CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
    READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    LOG_ANALYTICS_READER = "73c42c96-874c-492b-b04d-ab87d138a893"
    STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
    KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
    ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
    MONITORING_READER = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"
    MONITORING_CONTRIBUTOR = "749f88d5-cbae-40b8-bcfc-e573ddc772fa"
    MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
    COGNITIVE_SERVICES_OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
    COGNITIVE_SERVICES_USER = "a97b65f3-24c7-4388-baec-2e87135dc908"
    SEARCH_INDEX_DATA_READER = "1407120a-92aa-4202-b7e9-c0e197c71c8f"


# Never granted by this program; tests assert it stays that way.
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def role_definition_id(subscription_id: str, guid: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
