"""The managed serving path of the LLM (`serverless.endpointKind: managed`): a GPU managed online endpoint
running the platform's OpenAI-compatible multi-LoRA server, the base model mounted and adapters loaded from
the registry by the name the gateway writes into each request (``<registered name>:<version>``).

The endpoint has the serverless endpoint's name, so the operator's `target.serverless` and the route tables
are the same on either path; only `endpointKind` says which API the operator checks it with.
"""

from __future__ import annotations

import hashlib

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from kdap_infra.diagnostics import send_to_log_analytics
from kdap_infra.endpoints_config import EndpointConfig
from kdap_infra.llm_gateway import LlmBackend
from kdap_infra.serverless_config import ServerlessConfig
from kdap_infra.site import Placement

DEPLOYMENT = "base"  # the one deployment: adapters change by route table, never by redeploying
SERVER_PORT = 8000  # vLLM's OpenAI-compatible server
HEALTH_PATH = "/health"  # answers 200 once the base model is loaded
SCORING_PATH = "/"  # every path goes to the server, so /v1/chat/completions reaches it as-is
OPENAI_PATH = "/v1"  # where an OpenAI-compatible server serves chat/completions
MODEL_MOUNT = "/var/azureml-app/base-model"
# No ModelDeployment owns the base model's endpoint (each adapter's owns only its route table), so its cost
# is allocated to llm/<name>: the per-endpoint budget filters on that.
COST_NAMESPACE = "llm"


def environment_version(image: str) -> str:
    """Environment versions are immutable: a new image (or new routes) is a new version, derived from them."""
    routes = f"{HEALTH_PATH}|{SCORING_PATH}|{SERVER_PORT}"
    return hashlib.sha256(f"{image}|{routes}".encode()).hexdigest()[:12]


def cost_spec(config: ServerlessConfig) -> EndpointConfig:
    """The endpoint as a served model, for the per-endpoint budget and alerts every online endpoint has. Its
    latency threshold is the LLM API's: a completion takes seconds, not a scoring call's milliseconds."""
    return EndpointConfig(
        name=config.name,
        namespace=COST_NAMESPACE,
        instance_type=config.managed.instance_type,
        latency_p99_ms=config.latency_p95_ms,
        monthly_budget=config.managed.monthly_budget,
    )


def server_environment(config: ServerlessConfig, registry_name: str) -> dict[str, str]:
    """What the image's entrypoint turns into the server's command line (README "Serverless and LLM models").
    VLLM_ALLOW_RUNTIME_LORA_UPDATING is vLLM's own: adapters are loaded at runtime, not at start."""
    managed = config.managed
    return {
        "KDAP_BASE_MODEL_DIR": MODEL_MOUNT,
        "KDAP_SERVED_MODEL_NAME": config.name,
        "KDAP_PORT": str(SERVER_PORT),
        "KDAP_ENABLE_LORA": "true",
        "KDAP_MAX_LORAS": str(managed.max_loras),
        "KDAP_MAX_LORA_RANK": str(managed.max_lora_rank),
        "KDAP_ADAPTER_REGISTRY": registry_name,
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
    }


def _probe(initial_delay: str, failures: int) -> ml.ProbeSettingsArgs:
    return ml.ProbeSettingsArgs(
        initial_delay=initial_delay, period="PT10S", timeout="PT5S", failure_threshold=failures
    )


class ManagedLlm(pulumi.ComponentResource):
    """The endpoint and the server's environment; `serve` adds the deployment and its traffic once the
    endpoint's identity holds its grants (the deployment pulls the image and mounts the model as it)."""

    def __init__(
        self,
        name: str,
        place: Placement,
        config: ServerlessConfig,
        workspace_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kdap:ml:ManagedLlm", name, None, opts)
        managed, rg = config.managed, place.resource_group_name
        self._place, self._config, self._workspace_name = place, config, workspace_name
        if managed.image is None or managed.model_version is None:  # the config refuses it; mypy cannot know
            raise ValueError("serverless.managed.image and modelVersion are required for a managed endpoint")
        self._model = f"{config.model_id}/versions/{managed.model_version}"  # what `serve` mounts
        self.endpoint_name = place.naming.regional_name(config.name)
        self.tags = place.naming.model_tags(config.name, COST_NAMESPACE)
        self.environment = ml.EnvironmentVersion(
            "llm-environment",
            name=f"{config.name}-server",
            version=environment_version(managed.image),
            workspace_name=workspace_name,
            resource_group_name=rg,
            properties=ml.EnvironmentVersionPropertiesArgs(
                image=managed.image,
                description=f"multi-LoRA server for {config.name}",
                os_type="Linux",
                inference_config=ml.InferenceContainerPropertiesArgs(
                    liveness_route=ml.RouteArgs(path=HEALTH_PATH, port=SERVER_PORT),
                    readiness_route=ml.RouteArgs(path=HEALTH_PATH, port=SERVER_PORT),
                    scoring_route=ml.RouteArgs(path=SCORING_PATH, port=SERVER_PORT),
                ),
                tags=place.naming.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._props = ml.OnlineEndpointPropertiesArgs(
            # Entra ID tokens only, as on the serverless path: no keys to rotate or leak.
            auth_mode="AADToken",
            public_network_access=place.site.public_access,
            description=f"{config.name}: base model with multi-LoRA adapters behind the LLM API",
        )
        # Its own identity pulls the image and reads adapters; nothing else holds those grants. The traffic
        # is llm-traffic's (serve): this declaration must not take it back.
        self.endpoint = self._endpoint(
            "llm-endpoint",
            self._props,
            pulumi.ResourceOptions(parent=self, ignore_changes=["properties.traffic"]),
        )
        send_to_log_analytics(
            "llm-endpoint", target_id=self.endpoint.id, workspace_id=place.log_analytics_id, parent=self
        )
        self.register_outputs({"endpoint_id": self.endpoint.id, "endpoint_name": self.endpoint_name})

    def serve(self, registry_name: str, grants: pulumi.Resource) -> None:
        """The deployment of the base model, after ``grants`` (the endpoint identity's), then all traffic."""
        config, managed, place = self._config, self._config.managed, self._place
        workspace_name, rg = self._workspace_name, place.resource_group_name
        self.deployment = ml.OnlineDeployment(
            "llm-deployment",
            deployment_name=DEPLOYMENT,
            endpoint_name=self.endpoint.name,
            workspace_name=workspace_name,
            resource_group_name=rg,
            location=place.site.location,
            sku=ml.SkuArgs(name="Default", capacity=managed.instance_count),
            properties=ml.ManagedOnlineDeploymentArgs(
                endpoint_compute_type="Managed",
                instance_type=managed.instance_type,
                environment_id=self.environment.id,
                model=self._model,
                model_mount_path=MODEL_MOUNT,
                environment_variables=server_environment(config, registry_name),
                # Loading the base model onto the GPU takes minutes: liveness waits for it, readiness
                # keeps traffic away until /health answers.
                liveness_probe=_probe("PT10M", failures=30),
                readiness_probe=_probe("PT2M", failures=60),
                request_settings=ml.OnlineRequestSettingsArgs(
                    request_timeout=f"PT{managed.request_timeout_seconds}S",
                    max_concurrent_requests_per_instance=managed.max_concurrent_requests,
                ),
                scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
                # No egress_public_network_access: that is the legacy isolation; outbound follows the
                # workspace's managed network, as for the operator's deployments.
                app_insights_enabled=True,
            ),
            tags=self.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grants]),
        )
        # ARM refuses traffic to a deployment that does not exist yet, so the endpoint is declared a second
        # time, after the deployment, with all its traffic; retained on delete: llm-endpoint deletes it. Both
        # carry the same properties, so a change updates both, this one last (it waits for the deployment,
        # which waits for llm-endpoint): should llm-endpoint's update drop the traffic, this puts it back.
        with_traffic = ml.OnlineEndpointPropertiesArgs(
            auth_mode=self._props.auth_mode,
            public_network_access=self._props.public_network_access,
            description=self._props.description,
            traffic=self.deployment.name.apply(lambda n: {n: 100}),
        )
        self.traffic = self._endpoint(
            "llm-traffic",
            with_traffic,
            pulumi.ResourceOptions(parent=self, retain_on_delete=True, depends_on=[self.deployment]),
        )

    def _endpoint(
        self, resource: str, props: ml.OnlineEndpointPropertiesArgs, opts: pulumi.ResourceOptions
    ) -> ml.OnlineEndpoint:
        """One declaration of the endpoint (there are two: see ``serve``)."""
        return ml.OnlineEndpoint(
            resource,
            endpoint_name=self.endpoint_name,
            workspace_name=self._workspace_name,
            resource_group_name=self._place.resource_group_name,
            location=self._place.site.location,
            kind="Managed",
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=props,
            tags=self.tags,
            opts=opts,
        )

    @property
    def principal_id(self) -> pulumi.Output[str]:
        """The endpoint's system-assigned identity."""
        principal: pulumi.Output[str] = self.endpoint.identity.apply(
            lambda i: str(i.principal_id or "") if i else ""
        )
        return principal

    def backend(self, config: ServerlessConfig) -> LlmBackend:
        """The OpenAI-compatible base URL is the scoring URI's origin and /v1; the gateway waits as long as
        the deployment lets a request run, and names the adapter in the body's model."""
        url = self.endpoint.properties.apply(lambda p: _origin(p.scoring_uri or "") + OPENAI_PATH)
        title = f"{self.endpoint_name} managed online endpoint (multi-LoRA)"
        timeout = config.managed.request_timeout_seconds
        return LlmBackend(self.endpoint_name, url, title, timeout, served_model=config.name)


def _origin(uri: str) -> str:
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""
