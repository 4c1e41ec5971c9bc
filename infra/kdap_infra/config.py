"""One validated configuration for a stack, read from `kdap-platform:<key>` values.

Both `pulumi up` (through the engine's config) and the mock runner (through Pulumi.<stack>.yaml) feed the same
`parse_config`, so a wrong or missing value fails before any resource exists, naming the key and the fix.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

NAMESPACE = "kdap-platform"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


Email = Annotated[str, AfterValidator(_email)]


class ConfigError(ValueError):
    """Invalid stack configuration; the message names every bad key and how to fix it."""


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class WorkspaceConfig(_Model):
    friendly_name: str = Field("kdap ML platform", description="a display name for the workspace")
    customer_managed_key: bool = Field(
        False, description="true to encrypt the workspace with a key held in the platform Key Vault"
    )
    hbi: bool = Field(False, description="true for high-business-impact data (less telemetry to Microsoft)")


class ComputeConfig(_Model):
    gpu_vm_size: str = Field("Standard_NC6s_v3", description="the VM size of the dedicated GPU cluster")
    gpu_max_nodes: int = Field(2, ge=1, le=100, description="an integer from 1 to 100")
    spot_gpu_vm_size: str = Field("Standard_NC6s_v3", description="the VM size of the spot GPU cluster")
    spot_gpu_max_nodes: int = Field(4, ge=1, le=100, description="an integer from 1 to 100")
    cpu_vm_size: str = Field("Standard_D4s_v3", description="the VM size of the spot CPU cluster")
    cpu_max_nodes: int = Field(8, ge=1, le=200, description="an integer from 1 to 200")
    idle_minutes: int = Field(
        15, ge=2, le=120, description="minutes a node may idle before scale-down, from 2 to 120"
    )


class EndpointConfig(_Model):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{2,15}$",
        # Endpoint names are unique per region, so the stack prefixes them; Azure allows 32 characters.
        description="3-16 lowercase letters, digits or hyphens, starting with a letter",
    )
    latency_p99_ms: float | None = Field(
        None, gt=0, description="this endpoint's p99 latency threshold in ms (overrides alerts.latencyP99Ms)"
    )


class ApimConfig(_Model):
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


class AlertsConfig(_Model):
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


class BudgetConfig(_Model):
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


class OperatorConfig(_Model):
    namespace: str = Field("kdap-system", description="the operator's Kubernetes namespace")
    service_account: str = Field("kdap-operator", description="the operator's Kubernetes service account")
    oidc_issuer_url: str | None = Field(
        None,
        pattern=r"^https://",
        description="the https:// OIDC issuer of the cluster the operator runs in, when AKS is not enabled",
    )


class NetworkConfig(_Model):
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


class AksConfig(_Model):
    enabled: bool = Field(False, description="true to create an AKS cluster for the operator")
    kubernetes_version: str | None = Field(None, description="a supported AKS version, or leave unset")
    system_vm_size: str = Field("Standard_D4s_v5", description="the VM size of the system node pool")
    system_node_count: int = Field(2, ge=1, le=10, description="an integer from 1 to 10")


class AiServicesConfig(_Model):
    enabled: bool = Field(False, description="true for Azure OpenAI, AI Search and Content Safety accounts")
    search_sku: Literal["basic", "standard", "standard2"] = Field(
        "basic", description="one of basic, standard, standard2"
    )


class ServerlessConfig(_Model):
    enabled: bool = Field(False, description="true for a pay-per-token model endpoint")
    name: str = Field("lora-base", pattern=r"^[a-z][a-z0-9-]{2,31}$", description="3-32 lowercase characters")
    model_id: str = Field(
        "azureml://registries/azureml/models/Phi-3-mini-4k-instruct",
        pattern=r"^azureml://registries/",
        description="an azureml://registries/... model id that offers serverless deployment",
    )


class PlatformConfig(_Model):
    env: Literal["dev", "prod"] = Field(description="dev or prod")
    location: str = Field(pattern=r"^[a-z0-9]+$", description="an Azure region name such as westeurope")
    prefix: str = Field(
        pattern=r"^[a-z][a-z0-9]{1,7}$", description="2-8 lowercase letters or digits that start every name"
    )
    unique_suffix: str = Field(
        pattern=r"^[a-z0-9]{4,6}$",
        description="4-6 lowercase letters or digits that make global names unique (change it to rebuild)",
    )
    owner: str = Field(min_length=1, description="the owning team, written to the owner tag")
    cost_center: str = Field(min_length=1, description="the cost center, written to the cost-center tag")
    tenant_id: str = Field(pattern=_UUID, description="the Entra ID tenant id (a GUID)")
    log_retention_days: int = Field(30, ge=30, le=730, description="Log Analytics retention, 30-730 days")
    workspace: WorkspaceConfig = Field(WorkspaceConfig(), description="ML workspace settings")
    compute: ComputeConfig = Field(ComputeConfig(), description="compute cluster settings")
    endpoints: list[EndpointConfig] = Field(min_length=1, description="the online endpoints to create")
    apim: ApimConfig = Field(description="API Management settings")
    alerts: AlertsConfig = Field(description="alert routing and thresholds")
    budget: BudgetConfig = Field(description="the consumption budget")
    operator: OperatorConfig = Field(OperatorConfig(), description="where the operator runs")
    network: NetworkConfig = Field(NetworkConfig(), description="the private network")
    aks: AksConfig = Field(AksConfig(), description="the optional AKS cluster")
    ai_services: AiServicesConfig = Field(AiServicesConfig(), description="the optional AI services")
    serverless: ServerlessConfig = Field(ServerlessConfig(), description="the optional serverless endpoint")

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def private_networking(self) -> bool:
        return self.is_prod if self.network.enabled is None else self.network.enabled

    @model_validator(mode="after")
    def _coherent(self) -> PlatformConfig:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError(
                f"{NAMESPACE}:endpoints: names repeat ({names}). Fix: give each endpoint its own name"
            )
        if not self.aks.enabled and self.operator.oidc_issuer_url is None:
            raise ValueError(
                f"{NAMESPACE}:operator.oidcIssuerUrl is required when {NAMESPACE}:aks.enabled is false. "
                "Fix: set it to the OIDC issuer URL of the cluster the operator runs in, or enable AKS"
            )
        if self.is_prod and self.network.enabled is False:
            raise ValueError(
                f"{NAMESPACE}:network.enabled is false in prod, where public access is off and private "
                "endpoints are the only way in. Fix: remove the setting or set it to true"
            )
        if self.private_networking and self.apim.sku not in ("Premium", "Developer"):
            raise ValueError(
                f"{NAMESPACE}:apim.sku {self.apim.sku} cannot join a VNet to reach private endpoints. "
                "Fix: use Premium (or Developer outside prod), or disable network"
            )
        if self.is_prod and self.apim.sku == "Developer":
            raise ValueError(
                f"{NAMESPACE}:apim.sku is Developer, which has no SLA, in prod. "
                "Fix: set it to Premium, StandardV2 or Standard"
            )
        return self


def _field_description(loc: tuple[int | str, ...]) -> str | None:
    model: Any = PlatformConfig
    description = None
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        description = field.description
        inner = field.annotation
        args = getattr(inner, "__args__", ())
        candidates = [inner, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return description


def _format(error: Any) -> str:
    loc: tuple[int | str, ...] = error["loc"]
    msg: str = error["msg"]
    if f"{NAMESPACE}:" in msg:  # a cross-field rule that already names its keys and fix
        return msg.removeprefix("Value error, ")
    key = f"{NAMESPACE}:" + ".".join(f"[{p}]" if isinstance(p, int) else p for p in loc).replace(".[", "[")
    if error["type"] == "missing":
        problem = "is missing"
    elif error["type"] == "extra_forbidden":
        return f"{key}: is not a known setting. Fix: remove it or correct its spelling"
    else:
        problem = f"is invalid ({msg}; got {error.get('input')!r})"
    description = _field_description(loc)
    fix = f"set `{key}` to {description}" if description else f"correct `{key}`"
    return f"{key}: {problem}. Fix: {fix}"


def parse_config(raw: Mapping[str, Any]) -> PlatformConfig:
    """Validate namespace-stripped values (strings as the engine gives them, or structured values)."""
    values = {key: _decode(value) for key, value in raw.items()}
    try:
        return PlatformConfig.model_validate(values)
    except ValidationError as exc:
        lines = [_format(e) for e in exc.errors()]
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(lines)) from None


def _decode(value: Any) -> Any:
    # The engine hands structured values over as JSON text; scalars stay text and pydantic coerces them.
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def strip_namespace(config: Mapping[str, Any]) -> dict[str, Any]:
    """Keep `kdap-platform:<key>` entries, keyed by <key>; other namespaces (azure-native:) are not ours."""
    prefix = f"{NAMESPACE}:"
    return {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}


def load_from_engine() -> PlatformConfig:
    """The config of the running `pulumi up`/preview.

    Values are read through the public `pulumi.Config`; the key scan also picks up misspelt keys, so a typo
    is reported rather than silently ignored.
    """
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env

    present = strip_namespace({**get_config_env(), **CONFIG.get()})
    known = [field.alias or name for name, field in PlatformConfig.model_fields.items()]
    config = pulumi.Config(NAMESPACE)
    values = {key: config.get(key) for key in {*known, *present}}
    return parse_config({k: v for k, v in values.items() if v is not None})


def load_stack_file(path: str) -> PlatformConfig:
    """The config in a Pulumi.<stack>.yaml file, read the way the engine would hand it over."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path}: `config` must be a mapping. Fix: write `config:` with `{NAMESPACE}:<key>` entries"
        )
    return parse_config(strip_namespace({k: _as_engine_value(v) for k, v in config.items()}))


def _as_engine_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
