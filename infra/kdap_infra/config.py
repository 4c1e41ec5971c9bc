"""One validated configuration for a stack, read from `kdap-platform:<key>` values.

Both `pulumi up` (through the engine's config) and the mock runner (through Pulumi.<stack>.yaml) feed the same
`parse_config`, so a wrong or missing value fails before any resource exists, naming the key and the fix.
Each section's model lives beside the component that reads it (`<component>_config.py`); this module composes
them and checks the rules that span sections.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from kdap_infra.ai_services_config import AiServicesConfig
from kdap_infra.aks_config import AksConfig
from kdap_infra.apim_config import ApimConfig
from kdap_infra.compute_config import ComputeConfig
from kdap_infra.config_sections import NAMESPACE, UUID_PATTERN, Section
from kdap_infra.endpoints_config import MAX_ENDPOINT_NAME, EndpointConfig
from kdap_infra.monitoring_config import AlertsConfig, BudgetConfig
from kdap_infra.network_config import NetworkConfig
from kdap_infra.operator_config import INSTALLED_NAMESPACE, INSTALLED_SERVICE_ACCOUNT, OperatorConfig
from kdap_infra.personas_config import PersonasConfig
from kdap_infra.serverless_config import ServerlessConfig
from kdap_infra.workspace_config import WorkspaceConfig

# The install's ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) is served from Kubernetes 1.30.
MIN_INSTALL_KUBERNETES = (1, 30)

__all__ = [
    "NAMESPACE",
    "ConfigError",
    "EndpointConfig",
    "PlatformConfig",
    "load_from_engine",
    "load_stack_file",
    "parse_config",
]


class ConfigError(ValueError):
    """Invalid stack configuration; the message names every bad key and how to fix it."""


class PlatformConfig(Section):
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
    tenant_id: str = Field(pattern=UUID_PATTERN, description="the Entra ID tenant id (a GUID)")
    log_retention_days: int = Field(30, ge=30, le=730, description="Log Analytics retention, 30-730 days")
    workspace: WorkspaceConfig = Field(WorkspaceConfig(), description="ML workspace settings")
    compute: ComputeConfig = Field(ComputeConfig(), description="compute cluster settings")
    endpoints: list[EndpointConfig] = Field(
        min_length=1, description="the models served: one online endpoint, API route and alert set each"
    )
    apim: ApimConfig = Field(description="API Management settings")
    alerts: AlertsConfig = Field(description="alert routing and thresholds")
    budget: BudgetConfig = Field(description="the consumption budget")
    operator: OperatorConfig = Field(OperatorConfig(), description="where the operator runs")
    network: NetworkConfig = Field(NetworkConfig(), description="the private network")
    aks: AksConfig = Field(AksConfig(), description="the optional AKS cluster")
    ai_services: AiServicesConfig = Field(AiServicesConfig(), description="the optional AI services")
    serverless: ServerlessConfig = Field(ServerlessConfig(), description="the optional serverless endpoint")
    personas: PersonasConfig = Field(PersonasConfig(), description="Entra ID groups per access level")

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def private_networking(self) -> bool:
        return self.is_prod if self.network.enabled is None else self.network.enabled

    def _check_operator_install(self) -> None:
        if not self.aks.install_operator:
            return
        if not self.aks.enabled:
            raise ValueError(
                f"{NAMESPACE}:aks.installOperator is true but {NAMESPACE}:aks.enabled is false: there is no "
                "cluster to install into. Fix: enable AKS, or install the operator with kubectl apply -k"
            )
        version = re.match(r"^(\d+)\.(\d+)", self.aks.kubernetes_version or "")
        if version and (int(version[1]), int(version[2])) < MIN_INSTALL_KUBERNETES:
            least = ".".join(map(str, MIN_INSTALL_KUBERNETES))
            raise ValueError(
                f"{NAMESPACE}:aks.kubernetesVersion is {self.aks.kubernetes_version}, but the operator "
                "install's status admission policy (deploy/kustomize/base/personas.yaml) needs Kubernetes "
                f"{least} or later. Fix: set it to {least} or later, or leave it unset for AKS's default"
            )
        installed = (INSTALLED_NAMESPACE, INSTALLED_SERVICE_ACCOUNT)
        if (self.operator.namespace, self.operator.service_account) != installed:
            raise ValueError(
                f"{NAMESPACE}:operator.namespace/serviceAccount are {self.operator.namespace}/"
                f"{self.operator.service_account}, but the installed operator runs as {'/'.join(installed)} "
                "(deploy/kustomize), so its federated credential would name the wrong account. "
                f"Fix: set {NAMESPACE}:operator.namespace: {installed[0]} and serviceAccount: {installed[1]}"
            )

    def _check_endpoints(self) -> None:
        for e in self.endpoints:
            full = len(self.prefix) + len(e.name) + len(self.unique_suffix) + 2
            if full > MAX_ENDPOINT_NAME:
                raise ValueError(
                    f"{NAMESPACE}:endpoints: {e.name!r} makes the endpoint name {full} characters long "
                    f"(prefix-name-suffix); Azure allows {MAX_ENDPOINT_NAME}. Fix: shorten the name"
                )
            if e.kind == "kubernetes" and not self.aks.enabled:
                raise ValueError(
                    f"{NAMESPACE}:endpoints: {e.name!r} is kind kubernetes but {NAMESPACE}:aks.enabled is "
                    "false: no cluster is attached to the workspace. Fix: enable AKS or use kind managed"
                )

    @model_validator(mode="after")
    def _coherent(self) -> PlatformConfig:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError(
                f"{NAMESPACE}:endpoints: names repeat ({names}). Fix: give each endpoint its own name"
            )
        self._check_endpoints()
        if not self.aks.enabled and self.operator.oidc_issuer_url is None:
            raise ValueError(
                f"{NAMESPACE}:operator.oidcIssuerUrl is required when {NAMESPACE}:aks.enabled is false. "
                "Fix: set it to the OIDC issuer URL of the cluster the operator runs in, or enable AKS"
            )
        self._check_operator_install()
        llm = self.serverless
        if llm.enabled and llm.endpoint_kind == "managed" and llm.name in names:
            raise ValueError(
                f"{NAMESPACE}:serverless.name {llm.name!r} is also a {NAMESPACE}:endpoints name: on the "
                "managed path both would be the online endpoint of that name. Fix: rename one of them"
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
