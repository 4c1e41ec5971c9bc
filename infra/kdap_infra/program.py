"""The composition: one component per concern, wired in dependency order. Returns the stack outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import authorization, keyvault

from kdap_infra import access
from kdap_infra.ai_services import AiServices
from kdap_infra.aks import OperatorCluster
from kdap_infra.alert_queries import BATCH_RUN_METRIC, DRIFT_METRIC
from kdap_infra.apim import ScoringGateway
from kdap_infra.compute import ComputeClusters
from kdap_infra.config import PlatformConfig
from kdap_infra.endpoints import OnlineEndpoints
from kdap_infra.foundation import Foundation
from kdap_infra.handoff import operator_handoff
from kdap_infra.identities import Identities, Workload
from kdap_infra.llm_stack import build_llm
from kdap_infra.ml_attach import KubernetesCompute, ModelRegistry
from kdap_infra.monitoring import Alerting
from kdap_infra.naming import Naming
from kdap_infra.network import PrivateNetwork
from kdap_infra.personas import PersonaGrants, Scopes
from kdap_infra.rbac import AccessGrants, CustomRole, Grant, endpoint_scorer_role, named_value_writer_role
from kdap_infra.site import Placement, Site
from kdap_infra.workspace import BATCH_OUTPUTS, MlWorkspace


def _cmk_key(config: PlatformConfig, foundation: Foundation) -> keyvault.Key | None:
    if not config.workspace.customer_managed_key:
        return None
    return keyvault.Key(
        "cmk-key",
        key_name="workspace-cmk",
        vault_name=foundation.key_vault.name,
        resource_group_name=foundation.resource_group.name,
        # Prod's vault is Premium, so its key never leaves an HSM.
        properties=keyvault.KeyPropertiesArgs(
            kty="RSA-HSM" if config.is_prod else "RSA", key_size=3072, key_ops=["wrapKey", "unwrapKey"]
        ),
        opts=pulumi.ResourceOptions(parent=foundation),
    )


def _operator_cluster(
    config: PlatformConfig, place: Placement, net: PrivateNetwork | None
) -> tuple[pulumi.Input[str], OperatorCluster | None]:
    """The OIDC issuer the operator's identity trusts, and the AKS cluster when infra/ creates one."""
    if not config.aks.enabled:
        return str(config.operator.oidc_issuer_url), None
    subnet = net.subnet_id("aks") if net else None
    aks = OperatorCluster("operator-cluster", place, config.aks, subnet)
    return aks.oidc_issuer_url, aks


def _private_endpoints(
    net: PrivateNetwork,
    foundation: Foundation,
    ml: MlWorkspace,
    registry: ModelRegistry,
    ai: AiServices | None,
) -> None:
    net.connect("storage-blob", foundation.storage.id, "blob")
    net.connect("storage-file", foundation.storage.id, "file")
    net.connect("vault", foundation.key_vault.id, "vault")
    net.connect("registry", foundation.registry.id, "registry")
    net.connect("workspace", ml.workspace.id, "amlworkspace")
    net.connect("ml-registry", registry.registry.id, "amlregistry")
    if ai is not None:
        net.connect("openai", ai.openai.id, "account", zone_key="openai")
        net.connect("content-safety", ai.content_safety.id, "account", zone_key="cognitiveservices")
        net.connect("search", ai.search.id, "searchService")


@dataclass
class Platform:
    """The components of one stack, kept together so outputs can be read off them."""

    place: Placement
    foundation: Foundation
    identities: Identities
    ml: MlWorkspace
    endpoints: OnlineEndpoints
    gateway: ScoringGateway
    alerting: Alerting
    issuer: pulumi.Input[str]
    registry: ModelRegistry
    kubernetes: KubernetesCompute | None
    subscription_id: pulumi.Input[str]
    extra_outputs: dict[str, Any] = field(default_factory=dict)
    llm_adapters: dict[str, Any] = field(default_factory=dict)  # the handoff's `serverless` entries


def build_platform(config: PlatformConfig) -> dict[str, Any]:
    """Declare every resource of the stack; returns the stack outputs."""
    return _outputs(_build(config))


def _build(config: PlatformConfig) -> Platform:
    subscription_id = authorization.get_client_config_output().subscription_id
    site, naming = Site.of(config), Naming.of(config)  # the only places config facts and names come from
    foundation = Foundation("foundation", site, naming, config.log_retention_days)
    place = Placement(site, naming, foundation.resource_group.name, foundation.log_analytics.id)
    net = PrivateNetwork("network", place, config.network) if config.private_networking else None
    issuer, aks = _operator_cluster(config, place, net)
    ids = Identities("identities", place, config.operator, issuer)
    install = None
    if aks is not None and config.aks.install_operator:
        from kdap_infra.operator_install import OperatorInstall  # pulumi-kubernetes: only when asked for

        install = OperatorInstall(
            "operator-install", site, config.env, aks.cluster, place.resource_group_name,
            ids[Workload.OPERATOR].client_id, foundation.app_insights.connection_string,
            opts=pulumi.ResourceOptions(parent=aks),
        )  # fmt: skip
    cmk_key = _cmk_key(config, foundation)
    # The workspace checks its identity's access to storage, vault and registry when it is created.
    before = AccessGrants(
        "foundation-access", naming, subscription_id, access.foundation_grants(foundation, ids, cmk_key)
    )
    ml = MlWorkspace(
        "ml-workspace", place, config.workspace, foundation, ids[Workload.WORKSPACE], cmk_key,
        opts=pulumi.ResourceOptions(depends_on=[before]),
    )  # fmt: skip
    ws_name = ml.workspace.name
    ComputeClusters("compute", place, config.compute, ws_name, ids[Workload.COMPUTE])
    # Kubernetes online endpoints need the operator's AKS cluster attached to the workspace.
    k8s = KubernetesCompute("kubernetes-compute", place, aks.cluster, ws_name) if aks is not None else None
    endpoints = OnlineEndpoints(
        "online-endpoints", place, config.endpoints, ws_name, ids[Workload.ENDPOINTS],
        kubernetes_compute=k8s.compute if k8s is not None else None,
    )  # fmt: skip
    registry = ModelRegistry("model-registry", place)
    gateway = ScoringGateway(
        "scoring-gateway", place, config.apim, ids[Workload.GATEWAY], foundation.app_insights,
        endpoints.endpoints, config.endpoints, subnet_id=net.subnet_id("apim") if net else None,
    )  # fmt: skip
    alerting = Alerting(
        "alerting", place, config.alerts, config.budget, config.endpoints, endpoints.endpoints,
        foundation.resource_group.id,
    )  # fmt: skip
    platform = Platform(
        place, foundation, ids, ml, endpoints, gateway, alerting, issuer, registry, k8s, subscription_id
    )
    # Scores the model endpoints, and the LLM's when it is a managed one.
    scorer = endpoint_scorer_role(naming, ml.workspace.id, parent=ml)
    grants = _workspace_grants(platform, scorer)
    grants += _optional_services(config, platform, net, scorer)
    AccessGrants("workspace-access", naming, subscription_id, grants)
    if install is not None:  # after the serverless model: the handoff names its adapters too
        install.publish_handoff(operator_handoff(platform))
    scopes = Scopes(
        foundation.resource_group.id, ml.workspace.id, foundation.log_analytics.id, foundation.registry.id
    )
    PersonaGrants("personas", naming, subscription_id, config.personas, scopes)
    return platform


def _workspace_grants(p: Platform, scorer: CustomRole) -> list[Grant]:
    endpoint_ids = {k: e.id for k, e in p.endpoints.endpoints.items()}
    rg_id = p.foundation.resource_group.id
    grants = access.workspace_grants(p.identities, rg_id, p.ml.workspace.id, p.ml.default_container_id)
    writer = named_value_writer_role(p.place.naming, p.gateway.service.id, parent=p.gateway)
    grants.append(access.operator_gateway_grant(p.identities, writer, p.gateway.service.id))
    grants.append(access.batch_output_grant(p.identities, p.ml.containers[BATCH_OUTPUTS].id))
    return grants + access.gateway_grants(p.identities, p.foundation.app_insights.id, scorer, endpoint_ids)


def _optional_services(
    config: PlatformConfig, p: Platform, net: PrivateNetwork | None, scorer: CustomRole
) -> list[Grant]:
    """AI services, private endpoints and the LLM (serverless or managed); returns the grants they need."""
    grants: list[Grant] = []
    ai = AiServices("ai-services", p.place, config.ai_services) if config.ai_services.enabled else None
    if ai is not None:
        grants += access.ai_service_grants(p.identities, ai)
        p.extra_outputs |= {
            "openai_id": ai.openai.id,
            "search_id": ai.search.id,
            "content_safety_id": ai.content_safety.id,
        }
    if net is not None:
        _private_endpoints(net, p.foundation, p.ml, p.registry, ai)
        p.extra_outputs["vnet_id"] = net.vnet.id
    if config.serverless.enabled:
        grants += build_llm(config, p, ai, scorer)
    return grants


def _outputs(p: Platform) -> dict[str, Any]:
    """What the operator and users need: names, ids, client ids, URLs."""
    f, gateway_url = p.foundation, p.gateway.gateway_url
    return p.extra_outputs | {
        "resource_group_name": f.resource_group.name,
        "workspace_name": p.ml.workspace.name,
        "workspace_id": p.ml.workspace.id,
        "log_analytics_id": f.log_analytics.id,
        "app_insights_id": f.app_insights.id,
        "storage_account_id": f.storage.id,
        "key_vault_id": f.key_vault.id,
        "container_registry_id": f.registry.id,
        "online_endpoint_ids": {k: e.id for k, e in p.endpoints.endpoints.items()},
        "online_endpoint_names": {k: e.name for k, e in p.endpoints.endpoints.items()},
        "identity_client_ids": {w.value: i.client_id for w, i in p.identities.by_workload.items()},
        "operator_client_id": p.identities[Workload.OPERATOR].client_id,
        "oidc_issuer_url": p.issuer,
        "apim_gateway_url": gateway_url,
        "scoring_urls": {
            k: pulumi.Output.concat(gateway_url, f"/models/{k}/score") for k in p.endpoints.endpoints
        },
        "critical_action_group_id": p.alerting.critical.id,
        "warning_action_group_id": p.alerting.warning.id,
        "drift_metric_name": DRIFT_METRIC,
        "batch_run_metric_name": BATCH_RUN_METRIC,
        "batch_output_container_id": p.ml.containers[BATCH_OUTPUTS].id,
        "registry_name": p.registry.registry.name,
        "ml_registry_id": p.registry.registry.id,
        "kubernetes_compute_name": p.kubernetes.compute.name if p.kubernetes else None,
        "operator_handoff": operator_handoff(p),
    }
