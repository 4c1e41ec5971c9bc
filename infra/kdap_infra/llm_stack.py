"""The LLM of a stack: the endpoint on the chosen serving path, the LLM API in front of it, its alerts, its
grants and what the operator is told (`llm_targets`, the handoff's `serverless` entries)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import cognitiveservices as cog

from kdap_infra import access
from kdap_infra.ai_services import AiServices, cognitive_account
from kdap_infra.handoff import adapter_handoff
from kdap_infra.identities import Workload
from kdap_infra.llm_alerts import llm_alerts
from kdap_infra.llm_gateway import LlmBackend, LlmGateway, llm_api_path
from kdap_infra.llm_managed import ManagedLlm, cost_spec
from kdap_infra.rbac import AccessGrants, CustomRole, Grant, serverless_caller_role
from kdap_infra.serverless import ServerlessModel
from kdap_infra.serverless_config import ServerlessConfig

if TYPE_CHECKING:
    from kdap_infra.config import PlatformConfig
    from kdap_infra.program import Platform


def build_llm(config: PlatformConfig, p: Platform, ai: AiServices | None, scorer: CustomRole) -> list[Grant]:
    """Content safety guards every LLM API: the AI services' account when there is one, else a Content Safety
    account of its own. ``scorer``: the online-endpoint scorer role, which the gateway holds on a managed
    endpoint as on every model's."""
    llm = config.serverless
    endpoint: ServerlessModel | ManagedLlm
    if llm.endpoint_kind == "managed":
        endpoint = ManagedLlm("managed-llm", p.place, llm, p.ml.workspace.name)
        backend, endpoint_id, caller = endpoint.backend(llm), endpoint.endpoint.id, scorer
        # A batch of its own: the deployment pulls the image and mounts the model as the endpoint's identity.
        own = access.managed_llm_grants(
            endpoint.principal_id, p.registry.registry.id, p.foundation.registry.id
        )
        endpoint.serve(
            p.place.naming.registry_name(),
            AccessGrants("llm-endpoint-access", p.place.naming, p.subscription_id, own),
        )
        p.alerting.watch_endpoint(cost_spec(llm), endpoint.endpoint, p.place.log_analytics_id)
    else:
        endpoint = ServerlessModel("serverless-model", p.place, llm, p.ml.workspace.name)
        backend, endpoint_id = endpoint.backend(), endpoint.endpoint.id
        caller = serverless_caller_role(p.place.naming, p.ml.workspace.id, parent=endpoint)
        p.extra_outputs |= {
            "serverless_endpoint_id": endpoint_id,
            "serverless_endpoint_name": backend.endpoint_name,
        }
    safety = ai.content_safety if ai is not None else _safety_account(p, endpoint)
    LlmGateway(
        "llm-gateway", p.place, llm, config.apim, p.gateway.service, backend, safety,
        p.identities[Workload.GATEWAY].client_id, p.gateway.logger.id,
    )  # fmt: skip
    llm_alerts(p.alerting, p.place.log_analytics_id, llm, llm_api_path(llm.name))
    _publish(p, llm, backend)
    p.extra_outputs |= {
        "llm_endpoint_id": endpoint_id,
        "llm_endpoint_name": backend.endpoint_name,
        "llm_endpoint_kind": llm.endpoint_kind,
        "llm_content_safety_id": safety.id,
    }
    return access.llm_grants(
        p.identities, safety.id, caller, endpoint_id, llm.endpoint_kind, p.foundation.log_analytics.id
    )


def _safety_account(p: Platform, parent: pulumi.Resource) -> cog.Account:
    """Built as the AI services' accounts are (local auth off), under the endpoint's component."""
    return cognitive_account(p.place, "llmsafety", "ContentSafety", parent=parent, resource_name="llm-safety")


def _publish(p: Platform, llm: ServerlessConfig, backend: LlmBackend) -> None:
    """Each adapter's `target.serverless` as the spec spells it (`llm_targets`), and the handoff's entries."""
    gw = {"resourceGroup": p.place.resource_group_name, "service": p.gateway.service.name}
    target: dict[str, Any] = {
        "subscriptionId": p.subscription_id,
        "resourceGroup": p.place.resource_group_name,
        "workspace": p.ml.workspace.name,
        "endpointName": backend.endpoint_name,
        "gateway": gw,
    }
    if llm.endpoint_kind == "managed":  # serverless is the field's default: the examples leave it out
        target["endpointKind"] = "managed"
    p.llm_adapters = adapter_handoff(llm, backend.endpoint_name, gw)
    p.extra_outputs |= {
        "llm_targets": {
            a.name: {"modelDeployment": f"{a.namespace}/{a.name}", "serverless": target | {"adapter": a.name}}
            for a in llm.adapters
        },
        "llm_api_url": pulumi.Output.concat(p.gateway.gateway_url, "/", llm_api_path(llm.name)),
    }
