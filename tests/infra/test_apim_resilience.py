"""API Management resilience, element by element: retries, the backend's circuit breaker, the cache keyed by
model, version and body, the fallback only on a backend failure, the error shape, products and quotas."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from kdap_infra.apim_policy import (
    CACHE_HEADER,
    CACHE_KEY_VARIABLE,
    MAX_RETRIES,
)
from kdap_infra.testing import ProgramRun
from tests.infra.test_apim import policy_of

MODELS = ("budget-optimizer", "propensity-scorer", "anomaly-detector")


def _one(root: ET.Element, path: str) -> ET.Element:
    found = root.findall(path)
    assert len(found) == 1, f"{path}: {len(found)} elements"
    return found[0]


def test_scoring_is_retried_at_most_three_times_with_exponential_backoff(stack: ProgramRun) -> None:
    backend = _one(policy_of(stack, "budget-optimizer"), "backend")
    assert [c.tag for c in backend] == ["retry"]  # the retry replaces <base />: it wraps the only forward
    retry = backend[0]
    assert retry.get("count") == "3" == str(MAX_RETRIES)
    # interval, delta and max-interval together select API Management's exponential algorithm.
    interval, delta, cap = (int(retry.get(a) or 0) for a in ("interval", "delta", "max-interval"))
    assert interval >= 1
    assert delta >= 1
    assert cap > interval
    assert retry.get("first-fast-retry") == "false"
    condition = retry.get("condition") or ""
    assert "StatusCode == 429" in condition
    assert "StatusCode >= 500" in condition
    assert "400" not in condition  # a caller's mistake is never retried
    (forward,) = list(retry)
    assert forward.tag == "forward-request"
    assert forward.get("buffer-request-body") == "true"  # a retry resends the body


def test_the_api_uses_a_backend_whose_circuit_breaker_trips_on_5xx_and_429(stack: ProgramRun) -> None:
    for model in MODELS:
        route = _one(policy_of(stack, model), "inbound/set-backend-service")
        assert route.get("backend-id") == f"{model}-endpoint"
        backend = stack.named("azure-native:apimanagement:Backend", f"backend-{model}").inputs
        assert backend["backendId"] == f"{model}-endpoint"
        assert (
            backend["url"]
            == stack.named("azure-native:apimanagement:Api", f"api-{model}").inputs["serviceUrl"]
        )
        (rule,) = backend["circuitBreaker"]["rules"]
        assert rule["acceptRetryAfter"] is True
        assert rule["tripDuration"] == f"PT{stack.config.apim.breaker_trip_seconds}S"
        condition = rule["failureCondition"]
        ranges = {(int(r["min"]), int(r["max"])) for r in condition["statusCodeRanges"]}
        assert ranges == {(429, 429), (500, 599)}
        assert condition["count"] == stack.config.apim.breaker_failures
        assert condition["interval"] == f"PT{stack.config.apim.breaker_interval_seconds}S"


def test_cache_key_holds_model_version_and_a_hash_of_the_body(stack: ProgramRun) -> None:
    root = policy_of(stack, "propensity-scorer")
    key = _one(root, "inbound/set-variable")
    assert key.get("name") == CACHE_KEY_VARIABLE
    expression = key.get("value") or ""
    assert expression.startswith('@("score:propensity-scorer:"')
    assert "{{propensity-scorer-model-version}}" in expression
    assert "SHA256" in expression
    assert "context.Request.Body.As<string>(preserveContent: true)" in expression
    named = stack.named("azure-native:apimanagement:NamedValue", "nv-propensity-scorer-version").inputs
    assert named["namedValueId"] == "propensity-scorer-model-version"
    # Every store and every lookup uses that key and nothing else.
    refs = [e.get("key") for e in root.iter() if e.tag in ("cache-store-value", "cache-lookup-value")]
    assert len(refs) == 3
    assert set(refs) == {f'@((string)context.Variables["{CACHE_KEY_VARIABLE}"])'}


def test_only_successful_answers_are_stored_with_the_models_ttl(dev: ProgramRun) -> None:
    ttl = {e.name: e.cache_ttl_seconds or dev.config.apim.cache_ttl_seconds for e in dev.config.endpoints}
    assert len(set(ttl.values())) > 1, "the dev stack should give one model its own TTL"
    for model in MODELS:
        whens = _one(policy_of(dev, model), "outbound/choose").findall("when")
        store = whens[0].find("cache-store-value")
        assert store is not None
        assert whens[0].get("condition") == "@(context.Response.StatusCode == 200)"
        assert store.get("duration") == str(ttl[model])
        assert [w.find("cache-store-value") is not None for w in whens] == [True, False]


def _fallback_checks(choose: ET.Element, model: str) -> None:
    hit, miss = _one(choose, "when"), _one(choose, "otherwise")
    served = _one(hit, "return-response")
    assert _one(served, "set-status").get("code") == "200"
    marks = [h for h in served.findall("set-header") if h.get("name") == CACHE_HEADER]
    assert len(marks) == 1
    error = _one(miss, "return-response")
    assert _one(error, "set-status").get("code") == "503"
    retry_after = [h for h in error.findall("set-header") if h.get("name") == "Retry-After"]
    assert len(retry_after) == 1
    body = json.loads(_one(error, "set-body").text or "")
    assert set(body["error"]) == {"status", "code", "message", "retryAfterSeconds"}
    assert body["error"]["status"] == 503
    assert model in body["error"]["message"]
    assert str(body["error"]["retryAfterSeconds"]) == _one(retry_after[0], "value").text


def test_fallback_runs_only_when_the_backend_failed(stack: ProgramRun) -> None:
    root = policy_of(stack, "anomaly-detector")
    assert root.find("inbound//cache-lookup-value") is None  # a healthy model is always asked
    failed = _one(root, "outbound/choose").findall("when")[1]
    assert "429" in (failed.get("condition") or "")
    assert ">= 500" in (failed.get("condition") or "")
    _fallback_checks(_one(failed, "choose"), "anomaly-detector")
    on_error = _one(root, "on-error/choose/when")
    # A refused token or a spent quota fails in inbound and must not be answered from the cache.
    assert 'context.LastError.Section == "backend"' in (on_error.get("condition") or "")
    _fallback_checks(_one(on_error, "choose"), "anomaly-detector")


def test_each_model_has_its_own_product_subscription_and_quota(stack: ProgramRun) -> None:
    for model in MODELS:
        product = stack.named("azure-native:apimanagement:Product", f"product-{model}").inputs
        assert product["subscriptionRequired"] is True
        assert product["approvalRequired"] is True
        link = stack.named("azure-native:apimanagement:ProductApi", f"product-{model}-api").inputs
        assert (link["productId"], link["apiId"]) == (model, model)
        sub = stack.named("azure-native:apimanagement:Subscription", f"sub-{model}").inputs
        assert sub["scope"] == f"/products/{model}"
        quota_xml = stack.named("azure-native:apimanagement:ProductPolicy", f"product-{model}-quota")
        quota = _one(ET.fromstring(quota_xml.inputs["value"]), "inbound/quota")
        spec = next(e for e in stack.config.endpoints if e.name == model)
        assert quota.get("calls") == str(spec.quota_calls or stack.config.apim.quota_calls)
        assert quota.get("renewal-period") == str(stack.config.apim.quota_period_seconds)
