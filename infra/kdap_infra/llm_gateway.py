"""The LLM API in front of the model's endpoint, serverless or managed: Entra ID, token limits, content
safety with Prompt Shields, the adapter split the operator steers, and token metrics per adapter and
subscription. Either path hands it an `LlmBackend`; the API, its policy and its backends are the same."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import apimanagement as apim
from pulumi_azure_native import cognitiveservices as cog

from kdap_infra.apim_config import ApimConfig
from kdap_infra.apim_resilience import circuit_breaker
from kdap_infra.llm_policy import (
    CONTENT_SAFETY_BACKEND,
    QUOTA_HEADER,
    LlmPolicy,
    llm_backend_id,
    llm_policy_xml,
)
from kdap_infra.serverless_config import ServerlessConfig
from kdap_infra.site import Placement
from modeldeploy.api import platform

LLM_API_PREFIX = "llm/"  # every LLM API's path starts here (the policy pack finds them by it)


def llm_api_path(endpoint_key: str) -> str:
    return f"{LLM_API_PREFIX}{endpoint_key}"


@dataclass(frozen=True)
class LlmBackend:
    """The endpoint serving the base model and its adapters, as the LLM API calls it."""

    endpoint_name: str  # route tables and the backend entity are named after it
    url: pulumi.Input[str]  # the OpenAI-compatible base URL: the API appends /chat/completions
    title: str
    timeout_seconds: int = 120  # how long the gateway waits for an answer
    served_model: str | None = None  # a multi-LoRA server's base model name (the body's model names adapters)


class LlmGateway(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        place: Placement,
        config: ServerlessConfig,
        apim_config: ApimConfig,
        service: apim.ApiManagementService,
        model: LlmBackend,
        content_safety: cog.Account,
        gateway_client_id: pulumi.Input[str],
        logger_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:apim:LlmGateway", name, None, opts)
        rg, child = place.resource_group_name, pulumi.ResourceOptions(parent=self)
        endpoint_name, url = model.endpoint_name, pulumi.Output.from_input(model.url)
        backend = apim.Backend(
            "llm-backend",
            backend_id=llm_backend_id(endpoint_name),
            service_name=service.name,
            resource_group_name=rg,
            url=url,
            protocol="http",
            title=model.title,
            circuit_breaker=circuit_breaker(apim_config),
            opts=child,
        )
        safety = apim.Backend(
            "llm-content-safety",
            backend_id=CONTENT_SAFETY_BACKEND,
            service_name=service.name,
            resource_group_name=rg,
            url=pulumi.Output.concat("https://", content_safety.name, ".cognitiveservices.azure.com"),
            protocol="http",
            title="Azure AI Content Safety (Prompt Shields and harm categories)",
            circuit_breaker=circuit_breaker(apim_config),
            opts=child,
        )
        self.routes = {
            a.name: apim.NamedValue(
                f"nv-adapter-{a.name}",
                named_value_id=platform.adapter_routes_name(endpoint_name, a.name),
                display_name=platform.adapter_routes_name(endpoint_name, a.name),
                service_name=service.name,
                resource_group_name=rg,
                value=platform.ADAPTER_ROUTES_UNROUTED,
                secret=False,
                # The operator owns the split (README "Serverless and LLM models"): never put it back.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["value"]),
            )
            for a in config.adapters
        }
        self.api = apim.Api(
            "llm-api",
            api_id=f"llm-{config.name}",
            service_name=service.name,
            resource_group_name=rg,
            display_name=f"{config.name} (LLM, adapters by adapter_id)",
            path=llm_api_path(config.name),
            protocols=["https"],
            service_url=url,
            subscription_required=True,
            api_type="http",
            opts=child,
        )
        apim.ApiOperation(
            "llm-api-chat",
            operation_id="chat-completions",
            api_id=self.api.name,
            service_name=service.name,
            resource_group_name=rg,
            display_name="Chat completions",
            method="POST",
            url_template="/chat/completions",
            opts=child,
        )
        # The service-wide logging, plus the quota header: the blocked-share alert tells a spent monthly
        # quota's 403 from content safety's by it (alert_queries.llm_blocked_query). An API's diagnostic
        # replaces the service's for that API, so it repeats the service's settings.
        apim.ApiDiagnostic(
            "llm-api-diagnostic",
            diagnostic_id="applicationinsights",
            api_id=self.api.name,
            service_name=service.name,
            resource_group_name=rg,
            logger_id=logger_id,
            always_log="allErrors",
            http_correlation_protocol="W3C",
            verbosity="information",
            log_client_ip=False,
            sampling=apim.SamplingSettingsArgs(sampling_type="fixed", percentage=100.0),
            frontend=apim.PipelineDiagnosticSettingsArgs(
                response=apim.HttpMessageDiagnosticArgs(headers=[QUOTA_HEADER])
            ),
            opts=child,
        )
        xml = pulumi.Output.all(url, gateway_client_id).apply(
            lambda v: llm_policy_xml(
                LlmPolicy(
                    tenant_id=place.site.tenant_id,
                    audience=apim_config.audience,
                    endpoint=endpoint_name,
                    endpoint_url=str(v[0]),
                    adapters=tuple(a.name for a in config.adapters),
                    tokens_per_minute=config.tokens_per_minute,
                    monthly_token_quota=config.monthly_token_quota,
                    safety_threshold=config.safety_threshold,
                    backend_client_id=str(v[1]),
                    timeout_seconds=model.timeout_seconds,
                    served_model=model.served_model,
                )
            )
        )
        self.policy = apim.ApiPolicy(
            "llm-api-policy",
            policy_id="policy",
            api_id=self.api.name,
            service_name=service.name,
            resource_group_name=rg,
            format="rawxml",
            value=xml,
            # The policy names both backends and every route table: they must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[backend, safety, *self.routes.values()]),
        )
        self.register_outputs({"llm_api_path": llm_api_path(config.name)})
