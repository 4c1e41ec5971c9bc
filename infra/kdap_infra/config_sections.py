"""The sections of the stack config, one pydantic model each; `config.PlatformConfig` composes them."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

NAMESPACE = "kdap-platform"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


Email = Annotated[str, AfterValidator(_email)]


class Section(BaseModel):
    """camelCase keys as in Pulumi.<stack>.yaml; unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class WorkspaceConfig(Section):
    friendly_name: str = Field("kdap ML platform", description="a display name for the workspace")
    customer_managed_key: bool = Field(
        False, description="true to encrypt the workspace with a key held in the platform Key Vault"
    )
    hbi: bool = Field(False, description="true for high-business-impact data (less telemetry to Microsoft)")
    approved_fqdns: list[Annotated[str, Field(pattern=r"^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$")]] = Field(
        [],
        description="host names (such as pypi.org or *.anaconda.org) prod jobs and image builds may reach",
    )


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


class EndpointConfig(Section):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{2,15}$",
        # Names are unique per region, so the stack adds prefix and suffix; Azure allows 32 characters.
        description="3-16 lowercase letters, digits or hyphens, starting with a letter",
    )
    latency_p99_ms: float | None = Field(
        None, gt=0, description="this endpoint's p99 latency threshold in ms (overrides alerts.latencyP99Ms)"
    )


class ApimConfig(Section):
    publisher_email: Email = Field(description="the API publisher's e-mail address")
    publisher_name: str = Field(min_length=1, description="the API publisher's organisation name")
    sku: Literal["Developer", "Basic", "Standard", "Premium", "BasicV2", "StandardV2"] = Field(
        "Developer", description="one of Developer, Basic, Standard, Premium, BasicV2, StandardV2"
    )
    capacity: int = Field(1, ge=1, le=10, description="the number of units, 1 to 10")
    audience: str = Field(
        min_length=1,
        description="the Entra ID application (api://...) that callers' tokens must be issued for",
    )
    rate_limit_calls: int = Field(120, ge=1, description="calls allowed per subscription key per period")
    rate_limit_period_seconds: int = Field(
        60, ge=1, le=300, description="the rate-limit window, 1-300 seconds"
    )


class AlertsConfig(Section):
    on_call_emails: list[Email] = Field(min_length=1, description="the on-call addresses for critical alerts")
    dev_team_emails: list[Email] = Field(min_length=1, description="the dev team's addresses for warnings")
    latency_p99_ms: float = Field(500.0, gt=0, description="the p99 request latency threshold in ms")
    server_errors_per_minute: float = Field(
        5.0, gt=0, description="the 5xx requests per minute that raise an alert"
    )
    cpu_percent: float = Field(80.0, gt=0, le=100, description="the deployment CPU percentage, 1-100")
    drift_threshold: float = Field(
        0.2, gt=0, lt=1, description="the drift distance (0-1) above which the drift alert fires"
    )


class BudgetConfig(Section):
    amount: float = Field(gt=0, description="the monthly budget in the billing currency")
    contact_emails: list[Email] = Field(min_length=1, description="who is told about spend")
    actual_percent: list[float] = Field(
        [80.0, 100.0], min_length=1, description="percentages of actual spend"
    )
    forecast_percent: list[float] = Field([100.0], min_length=1, description="percentages of forecast spend")

    @model_validator(mode="after")
    def _at_most_five(self) -> BudgetConfig:
        count = len(self.actual_percent) + len(self.forecast_percent)
        if count > 5:
            raise ValueError(
                f"{NAMESPACE}:budget has {count} thresholds and Azure allows 5. "
                "Fix: shorten budget.actualPercent or budget.forecastPercent"
            )
        if any(not 0 < p <= 1000 for p in [*self.actual_percent, *self.forecast_percent]):
            raise ValueError(
                f"{NAMESPACE}:budget.actualPercent/forecastPercent hold a value outside 0-1000. "
                "Fix: give percentages of the budget amount, such as 80 or 100"
            )
        return self

    start_date: str = Field(
        "2026-01-01",
        pattern=r"^\d{4}-\d{2}-01$",
        description="the first day of a month, YYYY-MM-01",
    )


class OperatorConfig(Section):
    namespace: str = Field("kdap-system", description="the operator's Kubernetes namespace")
    service_account: str = Field("modeldeploy", description="the operator's Kubernetes service account")
    oidc_issuer_url: str | None = Field(
        None,
        pattern=r"^https://",
        description="the https:// OIDC issuer of the cluster the operator runs in, when AKS is not enabled",
    )


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


# The operator's namespace and ServiceAccount in its kustomize install (deploy/kustomize/base).
INSTALLED_NAMESPACE = "kdap-system"
INSTALLED_SERVICE_ACCOUNT = "modeldeploy"


class AksConfig(Section):
    enabled: bool = Field(False, description="true to create an AKS cluster for the operator")
    install_operator: bool = Field(
        False, description="true to install the operator (deploy/kustomize/overlays/<env>) into that cluster"
    )
    kubernetes_version: str | None = Field(None, description="a supported AKS version, or leave unset")
    system_vm_size: str = Field("Standard_D4s_v5", description="the VM size of the system node pool")
    system_node_count: int = Field(2, ge=1, le=10, description="an integer from 1 to 10")


class AiServicesConfig(Section):
    enabled: bool = Field(False, description="true for Azure OpenAI, AI Search and Content Safety accounts")
    search_sku: Literal["basic", "standard", "standard2"] = Field(
        "basic", description="one of basic, standard, standard2"
    )


class ServerlessConfig(Section):
    enabled: bool = Field(False, description="true for a pay-per-token model endpoint")
    name: str = Field("lora-base", pattern=r"^[a-z][a-z0-9-]{2,15}$", description="3-16 lowercase characters")
    model_id: str = Field(
        "azureml://registries/azureml/models/Phi-3-mini-4k-instruct",
        pattern=r"^azureml://registries/",
        description="an azureml://registries/... model id that offers serverless deployment",
    )
