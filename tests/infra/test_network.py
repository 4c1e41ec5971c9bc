"""Private networking: what prod closes to the public it reaches through private endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from kdap_infra.config import ConfigError, parse_config
from kdap_infra.network import ZONES
from kdap_infra.testing import ProgramRun, run_config
from tests.infra.configs import minimal


def endpoints_by_target(run: ProgramRun) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for pe in run.of_type("azure-native:network:PrivateEndpoint"):
        (connection,) = pe.inputs["privateLinkServiceConnections"]
        out[(connection["privateLinkServiceId"], connection["groupIds"][0])] = pe.inputs
    return out


def test_every_closed_prod_service_has_a_private_endpoint(prod: ProgramRun) -> None:
    out = prod.outputs
    expected = {
        (out["storage_account_id"], "blob"),
        (out["storage_account_id"], "file"),
        (out["key_vault_id"], "vault"),
        (out["container_registry_id"], "registry"),
        (out["workspace_id"], "amlworkspace"),
        (out["ml_registry_id"], "amlregistry"),
        (out["openai_id"], "account"),
        (out["content_safety_id"], "account"),
        (out["search_id"], "searchService"),
    }
    found = endpoints_by_target(prod)
    assert set(found) == expected
    subnet = f"{out['vnet_id']}/subnets/private-endpoints"
    assert all(pe["subnet"] == {"id": subnet} for pe in found.values())


def test_private_endpoints_register_in_their_dns_zones(prod: ProgramRun) -> None:
    zone_ids = {r.inputs["privateZoneName"]: r for r in prod.of_type("azure-native:privatedns:PrivateZone")}
    assert set(zone_ids) == {z for zones in ZONES.values() for z in zones}
    groups = {r.name: r.inputs for r in prod.of_type("azure-native:network:PrivateDnsZoneGroup")}
    workspace_zones = {
        c["privateDnsZoneId"].rsplit("/", 1)[1] for c in groups["pe-workspace-dns"]["privateDnsZoneConfigs"]
    }
    assert workspace_zones == {"privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"}
    openai_zones = [
        c["privateDnsZoneId"].rsplit("/", 1)[1] for c in groups["pe-openai-dns"]["privateDnsZoneConfigs"]
    ]
    assert openai_zones == ["privatelink.openai.azure.com"]
    links = prod.of_type("azure-native:privatedns:VirtualNetworkLink")
    assert {link.inputs["privateZoneName"] for link in links} == set(zone_ids)
    assert all(link.inputs["virtualNetwork"] == {"id": prod.outputs["vnet_id"]} for link in links)
    assert all(link.inputs["registrationEnabled"] is False for link in links)


def test_apim_and_aks_join_the_vnet_in_prod(prod: ProgramRun) -> None:
    (service,) = prod.of_type("azure-native:apimanagement:ApiManagementService")
    vnet = prod.outputs["vnet_id"]
    assert service.inputs["virtualNetworkType"] == "External"
    assert service.inputs["virtualNetworkConfiguration"] == {"subnetResourceId": f"{vnet}/subnets/apim"}
    assert service.inputs["publicIpAddressId"].endswith("/kdap-prod-apim-ip")
    (aks,) = prod.of_type("azure-native:containerservice:ManagedCluster")
    assert aks.inputs["agentPoolProfiles"][0]["vnetSubnetID"] == f"{vnet}/subnets/aks"


def test_apim_subnet_allows_its_control_plane(prod: ProgramRun) -> None:
    (nsg,) = prod.of_type("azure-native:network:NetworkSecurityGroup")
    rules = {
        (r["direction"], r["destinationPortRange"], r["sourceAddressPrefix"])
        for r in nsg.inputs["securityRules"]
    }
    assert ("Inbound", "3443", "ApiManagement") in rules
    assert ("Inbound", "443", "Internet") in rules
    (vnet,) = prod.of_type("azure-native:network:VirtualNetwork")
    subnets = {s["name"]: s for s in vnet.inputs["subnets"]}
    assert set(subnets) == {"private-endpoints", "apim", "aks"}
    assert subnets["apim"]["networkSecurityGroup"]["id"].endswith("/kdap-prod-nsg-apim")


def test_dev_stays_public_without_a_vnet(dev: ProgramRun) -> None:
    assert not dev.of_type("azure-native:network:VirtualNetwork")
    (service,) = dev.of_type("azure-native:apimanagement:ApiManagementService")
    assert service.inputs.get("virtualNetworkType", "None") == "None"
    assert "virtualNetworkConfiguration" not in service.inputs


def test_dev_can_opt_into_private_networking() -> None:
    run = run_config(parse_config(minimal(network={"enabled": True})))
    assert len(run.of_type("azure-native:network:PrivateEndpoint")) == 6


@pytest.mark.parametrize(
    ("network", "env", "sku", "expected"),
    [
        ({"apimSubnet": "10.50.0.0/27"}, "dev", "Developer", "network.apimSubnet (10.50.0.0/27) is outside"),
        (
            {"aksSubnet": "10.40.1.0/24"},
            "dev",
            "Developer",
            "network.privateEndpointSubnet overlaps network.aksSubnet",
        ),
        ({"apimSubnet": "10.40.2.0/28"}, "dev", "Developer", "network.apimSubnet is smaller than /27"),
        ({"addressSpace": "10.40.0.0/33"}, "dev", "Developer", "write each range as a CIDR"),
        ({"enabled": False}, "prod", "Premium", "network.enabled is false in prod"),
        ({}, "prod", "StandardV2", "apim.sku StandardV2 cannot join a VNet"),
    ],
)
def test_bad_network_settings_are_rejected(
    network: dict[str, Any], env: str, sku: str, expected: str
) -> None:
    apim = {"publisherEmail": "p@x.io", "publisherName": "k", "audience": "api://k", "sku": sku}
    raw = minimal(env=env, network={"enabled": True, **network} if env == "dev" else network, apim=apim)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert expected in str(caught.value)
    assert "Fix:" in str(caught.value)
