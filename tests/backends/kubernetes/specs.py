"""ModelDeployment specs for the Kubernetes backend's tests."""

from __future__ import annotations

from typing import Any

from modeldeploy.api.spec import ModelDeploymentSpec


def kubernetes_spec(image: str = "registry.example/scorer:1.0.0", **extra: Any) -> ModelDeploymentSpec:
    body: dict[str, Any] = {
        "target": {
            "type": "kubernetes",
            "kubernetes": {
                "image": image,
                "port": 8080,
                "gateway": {"name": "public", "namespace": "gateways"},
                "hostnames": ["scorer.example.com"],
                "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}},
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
            },
        },
        "model": {
            "name": "budget-optimizer",
            "version": "1.0.0",
            "artifactUri": "https://models.example.com/budget-optimizer/1.0.0/model.txt",
        },
        "strategy": {"type": "canary", "canary": {"steps": [{"weight": 10}, {"weight": 100}]}},
    }
    body.update(extra)
    return ModelDeploymentSpec.model_validate(body)
