"""Config dictionaries for tests that build a stack from scratch rather than from Pulumi.<stack>.yaml."""

from __future__ import annotations

import copy
from typing import Any

MINIMAL: dict[str, Any] = {
    "env": "dev",
    "location": "westeurope",
    "prefix": "kdap",
    "uniqueSuffix": "t3st",
    "owner": "ml-platform",
    "costCenter": "CC-1",
    "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "endpoints": [{"name": "churn"}],
    "apim": {"publisherEmail": "p@example.com", "publisherName": "kdap", "audience": "api://kdap"},
    "alerts": {"onCallEmails": ["oncall@example.com"], "devTeamEmails": ["dev@example.com"]},
    "budget": {"amount": 100, "contactEmails": ["fin@example.com"]},
    "operator": {"oidcIssuerUrl": "https://oidc.example.com/cluster"},
}


def minimal(**overrides: Any) -> dict[str, Any]:
    """The smallest valid config (no AKS, no optional services), with top-level keys replaced."""
    config = copy.deepcopy(MINIMAL)
    config.update(overrides)
    return config


# The LLM on the managed serving path: the multi-LoRA server from the stack's own container registry.
MANAGED_IMAGE = "kdapdevacrt3st.azurecr.io/vllm-lora:0.6.3"


def managed_llm(**managed: Any) -> dict[str, Any]:
    """The minimal config with the LLM on a managed online endpoint, `serverless.managed` overridden."""
    section = {"image": MANAGED_IMAGE, "modelVersion": "4"} | managed
    return minimal(
        serverless={
            "enabled": True,
            "endpointKind": "managed",
            "adapters": [{"name": "coding"}, {"name": "creative", "namespace": "ml-creative"}],
            "managed": section,
        }
    )
