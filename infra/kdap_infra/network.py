"""Private network: a VNet, private DNS zones, private endpoints for every service closed to the public."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network, privatedns

from kdap_infra.network_config import NetworkConfig
from kdap_infra.site import Placement

# Private DNS zone per private-link sub-resource (group id), from Azure's private endpoint DNS table.
ZONES: dict[str, list[str]] = {
    "blob": ["privatelink.blob.core.windows.net"],
    "file": ["privatelink.file.core.windows.net"],
    "vault": ["privatelink.vaultcore.azure.net"],
    "registry": ["privatelink.azurecr.io"],
    "amlworkspace": ["privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"],
    "amlregistry": ["privatelink.api.azureml.ms"],
    "openai": ["privatelink.openai.azure.com"],
    "cognitiveservices": ["privatelink.cognitiveservices.azure.com"],
    "searchService": ["privatelink.search.windows.net"],
}


def _rule(
    name: str, priority: int, direction: str, port: str, source: str, destination: str
) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=name,
        priority=priority,
        direction=direction,
        access="Allow",
        protocol="Tcp",
        source_port_range="*",
        destination_port_range=port,
        source_address_prefix=source,
        destination_address_prefix=destination,
    )


# What API Management needs in an external VNet (clients, its control plane, its dependencies).
APIM_RULES = [
    _rule("clients-https", 100, "Inbound", "443", "Internet", "VirtualNetwork"),
    _rule("apim-management", 110, "Inbound", "3443", "ApiManagement", "VirtualNetwork"),
    _rule("load-balancer", 120, "Inbound", "6390", "AzureLoadBalancer", "VirtualNetwork"),
    _rule("storage", 100, "Outbound", "443", "VirtualNetwork", "Storage"),
    _rule("sql", 110, "Outbound", "1433", "VirtualNetwork", "Sql"),
    _rule("key-vault", 120, "Outbound", "443", "VirtualNetwork", "AzureKeyVault"),
    _rule("monitor", 130, "Outbound", "443", "VirtualNetwork", "AzureMonitor"),
    _rule("monitor-metrics", 140, "Outbound", "1886", "VirtualNetwork", "AzureMonitor"),
]


class PrivateNetwork(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        config: NetworkConfig,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:network:PrivateNetwork", name, None, opts)
        self._naming, self._rg, self._location = place.naming, place.resource_group_name, place.site.location
        naming = place.naming
        child = pulumi.ResourceOptions(parent=self)
        apim_nsg = network.NetworkSecurityGroup(
            "nsg-apim",
            network_security_group_name=naming.name("nsg-apim"),
            resource_group_name=self._rg,
            location=self._location,
            security_rules=APIM_RULES,
            tags=naming.tags,
            opts=child,
        )
        self.vnet = network.VirtualNetwork(
            "vnet",
            virtual_network_name=naming.name("vnet"),
            resource_group_name=self._rg,
            location=self._location,
            address_space=network.AddressSpaceArgs(address_prefixes=[config.address_space]),
            subnets=[
                # Network policies on, so NSGs and route tables also apply to private endpoints.
                network.SubnetArgs(
                    name="private-endpoints",
                    address_prefix=config.private_endpoint_subnet,
                    private_endpoint_network_policies="Enabled",
                    default_outbound_access=False,
                ),
                network.SubnetArgs(
                    name="apim",
                    address_prefix=config.apim_subnet,
                    network_security_group=network.NetworkSecurityGroupArgs(id=apim_nsg.id),
                ),
                network.SubnetArgs(
                    name="aks", address_prefix=config.aks_subnet, default_outbound_access=False
                ),
            ],
            tags=naming.tags,
            opts=child,
        )
        # The workspace and the ML registry share a zone: one zone each, whatever the number of group ids.
        unique = dict.fromkeys(zone for zones in ZONES.values() for zone in zones)
        self.zones = {zone: self._zone(zone) for zone in unique}
        self.register_outputs({"vnet_id": self.vnet.id})

    def subnet_id(self, subnet: str) -> pulumi.Output[str]:
        subnet_id: pulumi.Output[str] = self.vnet.id.apply(lambda vnet_id: f"{vnet_id}/subnets/{subnet}")
        return subnet_id

    def _zone(self, zone: str) -> privatedns.PrivateZone:
        key = zone.removeprefix("privatelink.").replace(".", "-")
        private_zone = privatedns.PrivateZone(
            f"dns-{key}",
            private_zone_name=zone,
            resource_group_name=self._rg,
            location="global",
            tags=self._naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        privatedns.VirtualNetworkLink(
            f"dns-{key}-link",
            virtual_network_link_name=self._naming.name("vnet"),
            private_zone_name=private_zone.name,
            resource_group_name=self._rg,
            location="global",
            virtual_network=privatedns.SubResourceArgs(id=self.vnet.id),
            registration_enabled=False,
            tags=self._naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return private_zone

    def connect(
        self, key: str, target_id: pulumi.Input[str], group_id: str, zone_key: str | None = None
    ) -> network.PrivateEndpoint:
        """A private endpoint for `target_id`'s `group_id` sub-resource, registered in its DNS zones."""
        endpoint = network.PrivateEndpoint(
            f"pe-{key}",
            private_endpoint_name=self._naming.name(f"pe-{key}"),
            resource_group_name=self._rg,
            location=self._location,
            # A bare reference: SubnetArgs would also send its policy defaults, which belong to the VNet.
            subnet={"id": self.subnet_id("private-endpoints")},
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=key, private_link_service_id=target_id, group_ids=[group_id]
                )
            ],
            tags=self._naming.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        network.PrivateDnsZoneGroup(
            f"pe-{key}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=endpoint.name,
            resource_group_name=self._rg,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(
                    name=zone.replace(".", "-"), private_dns_zone_id=self.zones[zone].id
                )
                for zone in ZONES[zone_key or group_id]
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return endpoint
