"""Per-model API Management pieces around the scoring policy: the backend entity with its circuit breaker, the
named value holding the served model version (part of the cache key), and a product with its subscription
and quota, so one model's callers cannot spend another model's capacity."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import apimanagement as apim

from kdap_infra.apim_config import ApimConfig
from kdap_infra.endpoints_config import EndpointConfig
from modeldeploy.api import platform

# The breaker counts throttling and server errors; a 4xx is the caller's mistake and must never open it.
TRIP_STATUS_RANGES: tuple[tuple[int, int], ...] = ((429, 429), (500, 599))
# Before the operator first reports a version (it may never have deployed), the key still names the model.
UNKNOWN_VERSION = "unpromoted"


@dataclass(frozen=True)
class ModelEdge:
    backend: apim.Backend
    version: apim.NamedValue
    product: apim.Product
    subscription: apim.Subscription


def backend_id(model: str) -> str:
    return f"{model}-endpoint"


version_named_value = platform.version_named_value  # the operator writes what infra creates: one name


def circuit_breaker(config: ApimConfig) -> apim.BackendCircuitBreakerArgs:
    # API Management evaluates a single rule per backend, so 5xx and 429 share one.
    return apim.BackendCircuitBreakerArgs(
        rules=[
            apim.CircuitBreakerRuleArgs(
                name="model-failures",
                accept_retry_after=True,  # a throttling model says how long to stay away
                trip_duration=f"PT{config.breaker_trip_seconds}S",
                failure_condition=apim.CircuitBreakerFailureConditionArgs(
                    count=config.breaker_failures,
                    interval=f"PT{config.breaker_interval_seconds}S",
                    status_code_ranges=[
                        apim.FailureStatusCodeRangeArgs(min=lo, max=hi) for lo, hi in TRIP_STATUS_RANGES
                    ],
                ),
            )
        ]
    )


def quota_policy_xml(calls: int, period_seconds: int) -> str:
    return (
        "<policies>\n  <inbound>\n    <base />\n"
        f'    <quota calls="{calls}" renewal-period="{period_seconds}" />\n'
        "  </inbound>\n  <backend><base /></backend>\n  <outbound><base /></outbound>\n"
        "  <on-error><base /></on-error>\n</policies>\n"
    )


def model_edge(
    parent: pulumi.Resource,
    rg: pulumi.Input[str],
    service_name: pulumi.Input[str],
    config: ApimConfig,
    spec: EndpointConfig,
    base_url: pulumi.Input[str],
    api: apim.Api,
) -> ModelEdge:
    key = spec.name
    child = pulumi.ResourceOptions(parent=parent)
    backend = apim.Backend(
        f"backend-{key}",
        backend_id=backend_id(key),
        service_name=service_name,
        resource_group_name=rg,
        url=base_url,
        protocol="http",
        title=f"{key} online endpoint",
        circuit_breaker=circuit_breaker(config),
        opts=child,
    )
    version = apim.NamedValue(
        f"nv-{key}-version",
        named_value_id=version_named_value(key),
        display_name=version_named_value(key),
        service_name=service_name,
        resource_group_name=rg,
        value=UNKNOWN_VERSION,
        # The operator writes the promoted version here; Pulumi must not put the placeholder back.
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["value"]),
    )
    product = apim.Product(
        f"product-{key}",
        product_id=key,
        display_name=f"{key} scoring",
        description=f"Scoring calls to {key}, under this product's own quota.",
        service_name=service_name,
        resource_group_name=rg,
        subscription_required=True,
        approval_required=True,  # an administrator approves each new caller
        subscriptions_limit=10,
        state="published",
        opts=child,
    )
    apim.ProductApi(
        f"product-{key}-api",
        product_id=product.name,
        api_id=api.name,
        service_name=service_name,
        resource_group_name=rg,
        opts=child,
    )
    apim.ProductPolicy(
        f"product-{key}-quota",
        policy_id="policy",
        product_id=product.name,
        service_name=service_name,
        resource_group_name=rg,
        format="rawxml",
        value=quota_policy_xml(spec.quota_calls or config.quota_calls, config.quota_period_seconds),
        opts=child,
    )
    subscription = apim.Subscription(
        f"sub-{key}",
        sid=f"{key}-default",
        display_name=f"{key} default subscription",
        scope=pulumi.Output.concat("/products/", product.name),
        service_name=service_name,
        resource_group_name=rg,
        state="active",
        opts=child,
    )
    return ModelEdge(backend, version, product, subscription)
