"""ModelDeployment specs for the Kubernetes backend's tests."""

from __future__ import annotations

import json
from typing import Any

from localkube.testing import ClusterHandle
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.ports import Owner


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


def real_owner(cluster: ClusterHandle, namespace: str, name: str) -> Owner:
    """A ModelDeployment that exists (no operator runs for it): the garbage collector deletes children whose
    owner reference names a uid that does not exist, so backend tests must own their objects for real."""
    body = {
        "apiVersion": "mlops.kdap.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name},
        "spec": kubernetes_spec().model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(body))
    uid = cluster.kubectl(
        "get", "modeldeployment", name, "-n", namespace, "-o", "jsonpath={.metadata.uid}"
    ).stdout
    return Owner(namespace=namespace, name=name, uid=uid)
