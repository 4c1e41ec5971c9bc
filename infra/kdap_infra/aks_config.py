"""The `aks` section of the stack config, read by `aks.OperatorCluster` (and the program, for the install)."""

from __future__ import annotations

from pydantic import Field

from kdap_infra.config_sections import Section


class AksConfig(Section):
    enabled: bool = Field(False, description="true to create an AKS cluster for the operator")
    install_operator: bool = Field(
        False, description="true to install the operator (deploy/kustomize/overlays/<env>) into that cluster"
    )
    kubernetes_version: str | None = Field(None, description="a supported AKS version, or leave unset")
    system_vm_size: str = Field("Standard_D4s_v5", description="the VM size of the system node pool")
    system_node_count: int = Field(2, ge=1, le=10, description="an integer from 1 to 10")
