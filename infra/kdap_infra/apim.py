"""API Management before the online endpoints: Entra ID tokens in, managed identity out, logs out."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import apimanagement as apim
from pulumi_azure_native import applicationinsights, managedidentity, network
from pulumi_azure_native import machinelearningservices as ml

from kdap_infra.apim_config import ApimConfig
from kdap_infra.apim_policy import Resilience, ScoringPolicy, scoring_policy_xml
from kdap_infra.apim_resilience import ModelEdge, backend_id, model_edge, version_named_value
from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.endpoints_config import EndpointConfig
from kdap_infra.site import Placement

_SECURITY = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security"
# Legacy protocols and 3DES off on both sides of the gateway.
TLS_HARDENING: dict[str, str] = {
    f"{_SECURITY}.Protocols.Tls10": "False",
    f"{_SECURITY}.Protocols.Tls11": "False",
    f"{_SECURITY}.Protocols.Ssl30": "False",
    f"{_SECURITY}.Backend.Protocols.Tls10": "False",
    f"{_SECURITY}.Backend.Protocols.Tls11": "False",
    f"{_SECURITY}.Backend.Protocols.Ssl30": "False",
    f"{_SECURITY}.Ciphers.TripleDes168": "False",
}


class ScoringGateway(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        config: ApimConfig,
        identity: managedidentity.UserAssignedIdentity,
        app_insights: applicationinsights.Component,
        endpoints: dict[str, ml.OnlineEndpoint],
        specs: list[EndpointConfig],
        subnet_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:apim:ScoringGateway", name, None, opts)
        self._place, self._rg, self._config = place, place.resource_group_name, config
        naming = place.naming
        self.service = apim.ApiManagementService(
            "apim",
            service_name=naming.hyphen_global_name("apim", max_len=50),
            resource_group_name=self._rg,
            location=place.site.location,
            sku=apim.ApiManagementServiceSkuPropertiesArgs(name=config.sku, capacity=config.capacity),
            publisher_email=config.publisher_email,
            publisher_name=config.publisher_name,
            identity=identity.id.apply(
                lambda i: apim.ApiManagementServiceIdentityArgs(
                    type="UserAssigned", user_assigned_identities={i: {}}
                )
            ),
            custom_properties=TLS_HARDENING,
            **self._vnet(subnet_id),
            legacy_portal_status="Disabled",
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.gateway_url: pulumi.Output[str] = self.service.gateway_url
        logger = self.logger = self._logging(identity, app_insights)
        send_to_log_analytics(
            "apim", target_id=self.service.id, workspace_id=place.log_analytics_id, parent=self
        )
        self._client_id = pulumi.Output.from_input(identity.client_id)
        self.apis: dict[str, apim.Api] = {}
        self.edges: dict[str, ModelEdge] = {}
        for spec in specs:
            self.apis[spec.name], self.edges[spec.name] = self._api(spec, endpoints[spec.name])
        self.register_outputs({"gateway_url": self.gateway_url, "logger_id": logger.id})

    def _vnet(self, subnet_id: pulumi.Input[str] | None) -> dict[str, Any]:
        """External VNet mode: public gateway for callers, private path to the closed endpoints behind it."""
        if subnet_id is None:
            return {}
        naming = self._place.naming
        label = naming.hyphen_global_name("apim", max_len=50)
        ip = network.PublicIPAddress(
            "apim-ip",
            public_ip_address_name=naming.name("apim-ip"),
            resource_group_name=self._rg,
            location=self._place.site.location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            dns_settings=network.PublicIPAddressDnsSettingsArgs(domain_name_label=label),
            tags=naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {
            "virtual_network_type": "External",
            "virtual_network_configuration": apim.VirtualNetworkConfigurationArgs(
                subnet_resource_id=subnet_id
            ),
            "public_ip_address_id": ip.id,
        }

    def _logging(
        self, identity: managedidentity.UserAssignedIdentity, app_insights: applicationinsights.Component
    ) -> apim.Logger:
        child = pulumi.ResourceOptions(parent=self)
        logger = apim.Logger(
            "apim-logger",
            logger_id="app-insights",
            service_name=self.service.name,
            resource_group_name=self._rg,
            logger_type="applicationInsights",
            resource_id=app_insights.id,
            # Entra ID ingestion as the gateway's identity (Monitoring Metrics Publisher on the component).
            credentials=_secret(
                pulumi.Output.all(app_insights.connection_string, identity.client_id).apply(
                    _logger_credentials
                )
            ),
            opts=child,
        )
        apim.Diagnostic(
            "apim-diagnostic",
            diagnostic_id="applicationinsights",
            service_name=self.service.name,
            resource_group_name=self._rg,
            logger_id=logger.id,
            always_log="allErrors",
            http_correlation_protocol="W3C",
            verbosity="information",
            log_client_ip=False,
            sampling=apim.SamplingSettingsArgs(sampling_type="fixed", percentage=100.0),
            opts=child,
        )
        return logger

    def _policy(self, spec: EndpointConfig) -> pulumi.Output[str]:
        config, key = self._config, spec.name
        resilience = Resilience(
            model=key,
            version_named_value=version_named_value(key),
            backend_id=backend_id(key),
            cache_ttl_seconds=spec.cache_ttl_seconds or config.cache_ttl_seconds,
        )
        return self._client_id.apply(
            lambda client_id: scoring_policy_xml(
                ScoringPolicy(
                    tenant_id=self._place.site.tenant_id,
                    audience=config.audience,
                    calls=config.rate_limit_calls,
                    renewal_period_seconds=config.rate_limit_period_seconds,
                    backend_client_id=client_id,
                    resilience=resilience,
                )
            )
        )

    def _api(self, spec: EndpointConfig, endpoint: ml.OnlineEndpoint) -> tuple[apim.Api, ModelEdge]:
        key = spec.name
        child = pulumi.ResourceOptions(parent=self)
        scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri or "")
        base_url = scoring_uri.apply(lambda uri: uri.removesuffix("/score"))
        api = apim.Api(
            f"api-{key}",
            api_id=key,
            service_name=self.service.name,
            resource_group_name=self._rg,
            display_name=f"{key} scoring",
            path=f"models/{key}",
            protocols=["https"],
            service_url=base_url,
            subscription_required=True,
            api_type="http",
            opts=child,
        )
        apim.ApiOperation(
            f"api-{key}-score",
            operation_id="score",
            api_id=api.name,
            service_name=self.service.name,
            resource_group_name=self._rg,
            display_name="Score",
            method="POST",
            url_template="/score",
            opts=child,
        )
        edge = model_edge(self, self._rg, self.service.name, self._config, spec, base_url, api)
        apim.ApiPolicy(
            f"api-{key}-policy",
            policy_id="policy",
            api_id=api.name,
            service_name=self.service.name,
            resource_group_name=self._rg,
            format="rawxml",
            value=self._policy(spec),
            # The policy names the backend entity and the version named value: both must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[edge.backend, edge.version]),
        )
        return api, edge


def _logger_credentials(values: list[Any]) -> dict[str, str]:
    return {"connectionString": str(values[0]), "identityClientId": str(values[1])}


def _secret(value: pulumi.Output[dict[str, str]]) -> pulumi.Output[dict[str, str]]:
    # The connection string carries the instrumentation key: keep it encrypted in the state.
    return pulumi.Output.secret(value)
