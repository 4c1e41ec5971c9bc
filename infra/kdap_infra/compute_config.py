"""The `compute` section of the stack config, read by `compute.ComputeClusters`."""

from __future__ import annotations

from pydantic import Field

from kdap_infra.config_sections import Section


class ComputeConfig(Section):
    gpu_vm_size: str = Field("Standard_NC6s_v3", description="the VM size of the dedicated GPU cluster")
    gpu_max_nodes: int = Field(2, ge=1, le=100, description="an integer from 1 to 100")
    spot_gpu_vm_size: str = Field("Standard_NC6s_v3", description="the VM size of the spot GPU cluster")
    spot_gpu_max_nodes: int = Field(4, ge=1, le=100, description="an integer from 1 to 100")
    cpu_vm_size: str = Field("Standard_D4s_v3", description="the VM size of the spot CPU cluster")
    cpu_max_nodes: int = Field(8, ge=1, le=200, description="an integer from 1 to 200")
    idle_minutes: int = Field(
        15, ge=2, le=120, description="minutes a node may idle before scale-down, from 2 to 120"
    )
