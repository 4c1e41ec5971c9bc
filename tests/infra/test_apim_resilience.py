"""API Management resilience, element by element: retries, the backend's circuit breaker, the cache keyed by
model, version and body, the fallback only on a backend failure, the error shape, products and quotas."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from kdap_infra.apim_policy import (
    CACHE_HEADER,
    CACHE_KEY_VARIABLE,
    MAX_CACHED_BODY_BYTES,
    MAX_RETRIES,
    Resilience,
    ScoringPolicy,
    scoring_policy_xml,
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
    assert '"score:propensity-scorer:" + "{{propensity-scorer-model-version}}" + ":"' in expression
    assert "SHA256" in expression
    assert "context.Request.Body.As<byte[]>(preserveContent: true)" in expression
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
        assert (whens[0].get("condition") or "").startswith("@(context.Response.StatusCode == 200 && ")
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
    _fallback_checks(failed.findall("choose")[-1], "anomaly-detector")
    on_error = _one(root, "on-error/choose/when")
    # A refused token or a spent quota fails in inbound and must not be answered from the cache.
    assert 'context.LastError.Section == "backend"' in (on_error.get("condition") or "")
    _fallback_checks(on_error.findall("choose")[-1], "anomaly-detector")


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


# Review (#19): the policy as a pure function, against cases the stacks do not exercise.
def _scoring(model: str = "fraud") -> ET.Element:
    r = Resilience(model, f"{model}-model-version", f"{model}-endpoint", 120)
    return ET.fromstring(scoring_policy_xml(ScoringPolicy("tenant", "api://kdap", 10, 60, "client", r)))


_STATUS_TERM = re.compile(r"\s*context\.Response\.StatusCode\s*(==|>=)\s*(\d+)\s*")


def _status_condition(expression: str, status: int) -> bool:
    """A `||` of `StatusCode == N` or `>= N` terms, evaluated for one status; any other form fails."""
    inner = expression.removeprefix("@(").removesuffix(")")
    results = []
    for term in inner.split("||"):
        match = _STATUS_TERM.fullmatch(term)
        assert match, f"not a status-code term: {term!r}"
        op, value = match.group(1), int(match.group(2))
        results.append(status == value if op == "==" else status >= value)
    return any(results)


def test_retries_and_the_outbound_fallback_cover_throttling_and_server_errors_only() -> None:
    root = _scoring()
    # The retry's status terms; what follows them excludes the gateway's own open-circuit answer (below).
    condition = (_one(root, "backend/retry").get("condition") or "").removeprefix("@(").removesuffix(")")
    retry = "@(" + condition.split(" && !(")[0].strip("()") + ")"
    fallback = _one(root, "outbound/choose").findall("when")[1].get("condition") or ""
    for status in range(100, 600):
        failed = status == 429 or status >= 500
        assert _status_condition(retry, status) is failed, status
        assert _status_condition(fallback, status) is failed, status
    # A caller's own mistake (bad input, no access, too large) reaches them unchanged, never a cached answer.
    assert not any(_status_condition(fallback, s) for s in (400, 401, 403, 404, 409, 413, 415, 422))


def _key_expression(root: ET.Element) -> str:
    key = _one(root, "inbound/set-variable")
    assert key.get("name") == CACHE_KEY_VARIABLE
    return key.get("value") or ""


def test_a_request_without_a_body_is_not_dereferenced() -> None:
    # API Management gives `context.Request.Body` as null when a request has no body; reading it unguarded
    # throws in inbound, and the caller gets a gateway 500 instead of the model's own answer.
    expression = _key_expression(_scoring())
    guard = expression.find("context.Request.Body == null")
    assert guard != -1, expression
    assert guard < expression.find(".As<"), "the body is read before the null check"


def test_the_key_hashes_the_bodys_bytes_so_binary_inputs_never_share_an_entry() -> None:
    # Decoding a binary body as text replaces invalid bytes, so two different inputs could share one key and
    # one would be answered with the other's prediction.
    expression = _key_expression(_scoring())
    assert "As<byte[]>(preserveContent: true)" in expression
    assert "As<string>" not in expression
    assert "SHA256" in expression
    assert '"score:fraud:" + "{{fraud-model-version}}" + ":"' in expression


def test_a_body_too_large_to_hash_is_not_cached_and_still_gets_the_error_shape() -> None:
    root = _scoring()
    expression = _key_expression(root)
    assert f".Length > {MAX_CACHED_BODY_BYTES})" in expression
    assert expression.count('return "";') == 2  # no body, or too large: no key
    cacheable = f'context.Variables.GetValueOrDefault<string>("{CACHE_KEY_VARIABLE}", "") != ""'
    store = _one(root, "outbound/choose").findall("when")[0]
    assert store.get("condition") == f"@(context.Response.StatusCode == 200 && {cacheable})"
    failed = [_one(root, "outbound/choose").findall("when")[1], _one(root, "on-error/choose/when")]
    for when in failed:
        # Lookup only under a key; without a cached answer (or a key) the error shape.
        lookup, answer = list(when)
        assert (lookup.tag, answer.tag) == ("choose", "choose")
        only = _one(lookup, "when")
        assert only.get("condition") == f"@({cacheable})"
        assert [c.tag for c in only] == ["cache-lookup-value"]
        _fallback_checks(answer, "fraud")


def test_any_failure_of_the_backend_call_is_covered_whatever_the_key() -> None:
    # A transport error or an open circuit fails in `backend`; inbound refusals (token, quota) do not match.
    condition = _one(_scoring(), "on-error/choose/when").get("condition")
    assert condition == '@(context.LastError.Section == "backend")'


def test_the_retried_api_has_only_the_idempotent_scoring_operation(stack: ProgramRun) -> None:
    # The retry sits at API scope: any operation added to a scoring API would be retried too. Scoring is a
    # pure function of the body, so POST /score is the only operation a retry may repeat.
    for model in MODELS:
        api = stack.named("azure-native:apimanagement:Api", f"api-{model}").inputs["apiId"]
        operations = [
            (r.inputs["method"], r.inputs["urlTemplate"])
            for r in stack.of_type("azure-native:apimanagement:ApiOperation")
            if r.inputs["apiId"] == api
        ]
        assert operations == [("POST", "/score")], model


def test_an_open_circuit_is_not_retried_but_answered_from_the_cache_at_once() -> None:
    # With the circuit open API Management answers 503 itself, its reason saying the backend is temporarily
    # unavailable; retrying that cannot succeed and only delays the cached answer by the backoff (1+2+4 s).
    root = _scoring()
    condition = _one(root, "backend/retry").get("condition") or ""
    assert condition == (
        "@((context.Response.StatusCode == 429 || context.Response.StatusCode >= 500) && "
        "!(context.Response.StatusCode == 503 && context.Response.StatusReason != null && "
        '(context.Response.StatusReason.Contains("is temporarily unavailable") || '
        'context.Response.StatusReason.Contains("Backend pool"))))'
    )
    # The same 503 is a failure to the outbound fallback, which serves the cache or the error shape.
    fallback = _one(root, "outbound/choose").findall("when")[1].get("condition") or ""
    assert _status_condition(fallback, 503)
