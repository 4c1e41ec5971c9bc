"""ModelDeployment manifests for the end-to-end tests."""

from __future__ import annotations

import copy
from typing import Any


def model_deployment(
    name: str,
    image: str = "registry.example/budget-optimizer:1.0.0",
    version: str = "1.0.0",
    strategy: dict[str, Any] | None = None,
    **spec_extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "target": {
            "type": "kubernetes",
            "kubernetes": {
                "image": image,
                "port": 8080,
                "gateway": {"name": "public", "namespace": "gateways"},
            },
        },
        "model": {
            "name": "budget-optimizer",
            "version": version,
            "artifactUri": f"https://models.example.com/budget-optimizer/{version}/model.txt",
        },
        "strategy": strategy
        or {
            "type": "canary",
            "canary": {"steps": [{"weight": 10}, {"weight": 25}, {"weight": 50}, {"weight": 100}]},
        },
    }
    spec.update(copy.deepcopy(spec_extra))
    return {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name},
        "spec": spec,
    }
