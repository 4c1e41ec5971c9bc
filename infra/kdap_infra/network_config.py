"""The `network` section of the stack config, read by `network.PrivateNetwork`."""

from __future__ import annotations

import ipaddress

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from kdap_infra.config_sections import NAMESPACE, Section


class NetworkConfig(Section):
    enabled: bool | None = Field(
        None,
        description="true for a VNet with private endpoints; unset follows env (on in prod, required there)",
    )
    address_space: str = Field("10.40.0.0/16", description="the VNet's CIDR, such as 10.40.0.0/16")
    private_endpoint_subnet: str = Field("10.40.1.0/24", description="a CIDR inside addressSpace")
    apim_subnet: str = Field("10.40.2.0/27", description="a CIDR inside addressSpace, /27 or larger")
    aks_subnet: str = Field("10.40.16.0/20", description="a CIDR inside addressSpace for AKS nodes")

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkConfig:
        try:
            space = ipaddress.ip_network(self.address_space)
            subnets = {k: ipaddress.ip_network(getattr(self, k)) for k in _SUBNETS}
        except ValueError as exc:
            raise ValueError(
                f"{NAMESPACE}:network: {exc}. Fix: write each range as a CIDR (10.40.1.0/24)"
            ) from None
        for key, net in subnets.items():
            if not net.subnet_of(space):  # type: ignore[arg-type]
                raise ValueError(
                    f"{NAMESPACE}:network.{to_camel(key)} ({net}) is outside network.addressSpace ({space}). "
                    "Fix: pick a range inside the address space"
                )
        nets = list(subnets.items())
        for i, (a, net_a) in enumerate(nets):
            for b, net_b in nets[i + 1 :]:
                if net_a.overlaps(net_b):
                    raise ValueError(
                        f"{NAMESPACE}:network.{to_camel(a)} overlaps network.{to_camel(b)}. "
                        "Fix: give each subnet its own range"
                    )
        if subnets["apim_subnet"].prefixlen > 27:
            raise ValueError(f"{NAMESPACE}:network.apimSubnet is smaller than /27. Fix: use a /27 or larger")
        return self


_SUBNETS = ("private_endpoint_subnet", "apim_subnet", "aks_subnet")
