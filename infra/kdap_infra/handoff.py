"""The platform handoff: what the operator needs from this stack, as one stack output (`operator_handoff`).

Keys are the ModelDeployment's own field names (`target.azureml.*`, `target.serverless.*`), so a
ModelDeployment for a declared model or LLM adapter is this output's values and nothing else; the cross-seam
tests feed it to the operator's backends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from kdap_infra.endpoints_config import EndpointConfig
from kdap_infra.naming import Naming
from kdap_infra.serverless_config import ServerlessConfig
from modeldeploy.api import platform

if TYPE_CHECKING:
    from kdap_infra.program import Platform


def model_handoff(naming: Naming, spec: EndpointConfig) -> dict[str, Any]:
    """One declared model: where its ModelDeployment deploys and what the platform set up around it."""
    endpoint = naming.endpoint_name(spec.name)
    auth = platform.DEFAULT_AUTH_MODE[spec.kind]
    return {
        "modelDeployment": f"{spec.namespace}/{spec.name}",
        "endpointName": endpoint,
        "endpointKind": spec.kind,
        "authMode": auth,
        "compute": platform.KUBERNETES_COMPUTE if spec.kind == "kubernetes" else None,
        "instanceType": spec.instance_type or platform.DEFAULT_INSTANCE_TYPE[spec.kind],
        # The operator writes the promoted model version here (API Management's cache keys include it).
        "versionNamedValue": platform.version_named_value(spec.name),
        "tags": platform.platform_endpoint_tags(spec.namespace, spec.name, naming.stack),
        # Where the data collector of each revision's deployment writes: the drift live URIs.
        "dataCollector": {
            "model_inputs": platform.LIVE_INPUTS_URI,
            "model_outputs": platform.LIVE_OUTPUTS_URI,
        },
    }


def adapter_handoff(
    config: ServerlessConfig, endpoint_name: pulumi.Input[str], gateway: dict[str, Any]
) -> dict[str, Any]:
    """Each declared LLM adapter: the endpoint serving it (serverless, or the managed multi-LoRA one, by
    `serverless.endpointKind`), its adapter_id, and the API Management instance holding its route table (the
    operator fills `target.serverless` from these)."""
    return {
        a.name: {
            "modelDeployment": f"{a.namespace}/{a.name}",
            "endpointName": endpoint_name,
            "endpointKind": config.endpoint_kind,
            "adapter": a.name,
            "gateway": gateway,
        }
        for a in config.adapters
    }


def operator_handoff(p: Platform) -> dict[str, Any]:
    f, naming = p.foundation, p.place.naming
    specs = p.endpoints.specs
    return {
        "subscriptionId": p.subscription_id,
        "resourceGroup": f.resource_group.name,
        "workspace": p.ml.workspace.name,
        "logAnalyticsWorkspaceId": f.log_analytics.id,
        "appInsightsId": f.app_insights.id,
        "registry": p.registry.registry.name,
        "kubernetesCompute": platform.KUBERNETES_COMPUTE if p.kubernetes is not None else None,
        "apim": {"resourceGroup": f.resource_group.name, "serviceName": p.gateway.service.name},
        "models": {
            s.name: model_handoff(naming, s)
            | {"scoringUrl": pulumi.Output.concat(p.gateway.gateway_url, f"/models/{s.name}/score")}
            for s in specs
        },
        "serverless": p.llm_adapters,
    }
