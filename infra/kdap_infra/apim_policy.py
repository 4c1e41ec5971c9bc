"""The API Management policy in front of every scoring API, as a pure function so tests can parse it.

Resilience, in the order a request meets it: the API's backend entity (`apim_resilience.backend_args`) trips
its circuit on 5xx/429 and honours Retry-After; scoring calls are retried with exponential backoff, at most
`MAX_RETRIES` times, except the gateway's own 503 of an open circuit (`CIRCUIT_OPEN`), which goes straight to
the fallback; a 200 is stored in the cache under a key of model, model version and the SHA-256 of the
request body's bytes; when the backend fails (5xx/429 after the retries, a transport error, or the open
circuit) the stored answer is returned with `CACHE_HEADER`, and without one the caller gets one JSON error
shape. A request without a body, or with one over `MAX_CACHED_BODY_BYTES`, has no key: it is neither stored
nor looked up, and a failure answers it with the error shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

# Online endpoints with auth_mode AADToken accept tokens for this resource.
AZURE_ML_RESOURCE = "https://ml.azure.com"
# Pinning a deployment with this header would bypass the operator's traffic split (and shadow mirroring).
DEPLOYMENT_PIN_HEADER = "azureml-model-deployment"
# Marks an answer served from the cache because the model could not answer; its value says why.
CACHE_HEADER = "x-kdap-cached"
CACHE_KEY_VARIABLE = "kdapScoreKey"
CACHED_VARIABLE = "kdapCachedScore"
# Scoring is a pure function of the body, so a retry is safe; 3 is the seed's cap, and more would only
# stack up load on a backend that is already failing (the circuit breaker takes over from there).
MAX_RETRIES = 3
# A failure worth retrying or covering from the cache: throttling or a server error. 4xx are the caller's.
BACKEND_FAILED = "context.Response.StatusCode == 429 || context.Response.StatusCode >= 500"
# With the circuit open the gateway answers 503 itself, its reason saying the backend (or pool) is temporarily
# unavailable: retrying cannot succeed before the trip ends and would only delay the cached answer.
CIRCUIT_OPEN = (
    "context.Response.StatusCode == 503 && context.Response.StatusReason != null && "
    '(context.Response.StatusReason.Contains("is temporarily unavailable") || '
    'context.Response.StatusReason.Contains("Backend pool"))'
)
RETRY_WHEN = f"({BACKEND_FAILED}) && !({CIRCUIT_OPEN})"
# Bodies above this are neither hashed nor cached: hashing a large upload costs more than a fallback saves.
MAX_CACHED_BODY_BYTES = 1_048_576
# The key is "" when the request cannot be cached (no body, or one too large).
CACHEABLE = f'context.Variables.GetValueOrDefault<string>("{CACHE_KEY_VARIABLE}", "") != ""'


@dataclass(frozen=True)
class Resilience:
    model: str  # the served model (the endpoints entry): part of every cache key
    version_named_value: str  # APIM named value holding the served model version: part of every cache key
    backend_id: str  # the backend entity with the circuit breaker
    cache_ttl_seconds: int
    retry_interval_seconds: int = 1
    retry_max_interval_seconds: int = 8
    retry_after_seconds: int = 30  # what the error shape tells callers to wait when nothing is cached


@dataclass(frozen=True)
class ScoringPolicy:
    tenant_id: str
    audience: str
    calls: int
    renewal_period_seconds: int
    backend_client_id: str
    resilience: Resilience


def entra_validation_xml(tenant_id: str, audience: str) -> str:
    """Entra ID bearer tokens of the tenant, issued for ``audience`` (v1 and v2 issuers); indented for the
    inbound section."""
    login = f"https://login.microsoftonline.com/{tenant_id}"
    return f"""    <validate-jwt header-name="Authorization" failed-validation-httpcode="401"
        failed-validation-error-message="A valid Entra ID bearer token is required."
        require-scheme="Bearer" require-expiration-time="true" require-signed-tokens="true">
      <openid-config url={quoteattr(f"{login}/v2.0/.well-known/openid-configuration")} />
      <audiences>
        <audience>{_text(audience)}</audience>
      </audiences>
      <issuers>
        <issuer>{_text(f"{login}/v2.0")}</issuer>
        <issuer>{_text(f"https://sts.windows.net/{tenant_id}/")}</issuer>
      </issuers>
    </validate-jwt>"""


def scoring_policy_xml(p: ScoringPolicy) -> str:
    r = p.resilience
    return f"""<policies>
  <inbound>
    <base />
{entra_validation_xml(p.tenant_id, p.audience)}
    <rate-limit-by-key calls="{p.calls}" renewal-period="{p.renewal_period_seconds}"
        counter-key="@(context.Subscription.Id)" />
    <set-header name="{DEPLOYMENT_PIN_HEADER}" exists-action="delete" />
    <set-header name="Authorization" exists-action="delete" />
    <set-variable name="{CACHE_KEY_VARIABLE}" value={quoteattr(cache_key_expression(r))} />
    <set-backend-service backend-id={quoteattr(r.backend_id)} />
    <authentication-managed-identity resource="{AZURE_ML_RESOURCE}"
        client-id={quoteattr(p.backend_client_id)} />
  </inbound>
  <backend>
    <retry condition={quoteattr(f"@({RETRY_WHEN})")} count="{MAX_RETRIES}"
        interval="{r.retry_interval_seconds}" delta="{r.retry_interval_seconds}"
        max-interval="{r.retry_max_interval_seconds}" first-fast-retry="false">
      <forward-request buffer-request-body="true" />
    </retry>
  </backend>
  <outbound>
    <base />
    <choose>
      <when condition={quoteattr(f"@(context.Response.StatusCode == 200 && {CACHEABLE})")}>
        <cache-store-value key={_key_ref()} duration="{r.cache_ttl_seconds}"
            value="@(context.Response.Body.As&lt;string&gt;(preserveContent: true))" />
      </when>
      <when condition={quoteattr(f"@({BACKEND_FAILED})")}>
{_fallback(r, "backend-error", indent=8)}
      </when>
    </choose>
  </outbound>
  <on-error>
    <base />
    <choose>
      <when condition={quoteattr(_BACKEND_SECTION_FAILED)}>
{_fallback(r, "backend-unavailable", indent=8)}
      </when>
    </choose>
  </on-error>
</policies>
"""


# Only a failure of the call to the model (transport error, timeout, open circuit) is covered from the cache;
# a refused token or a spent quota fails in `inbound` and must reach the caller as it is.
_BACKEND_SECTION_FAILED = '@(context.LastError.Section == "backend")'


def cache_key_expression(r: Resilience) -> str:
    """`score:<model>:<version>:<sha256 of the body's bytes>`, or "" when the request is not cached.

    The body is null when a request has none (API Management's context.Request.Body); it is read as bytes,
    so binary inputs never collide after a lossy text decoding, and preserved for the forward request."""
    # The version comes from a named value ({{...}} is substituted before the expression runs), so a
    # promoted model never answers from its predecessor's cache.
    prefix = f'"score:{r.model}:" + "{{{{{r.version_named_value}}}}}" + ":"'
    return (
        '@{ if (context.Request.Body == null) { return ""; } '
        "var bytes = context.Request.Body.As<byte[]>(preserveContent: true); "
        f'if (bytes.Length == 0 || bytes.Length > {MAX_CACHED_BODY_BYTES}) {{ return ""; }} '
        f"return {prefix} + Convert.ToBase64String("
        "System.Security.Cryptography.SHA256.Create().ComputeHash(bytes)); }"
    )


def error_body(model: str, retry_after_seconds: int) -> str:
    """The one error shape callers get when the model failed and nothing is cached for their request."""
    return json.dumps(
        {
            "error": {
                "status": 503,
                "code": "ModelUnavailable",
                "message": f"Model {model} is unavailable and no cached prediction exists for this input.",
                "retryAfterSeconds": retry_after_seconds,
            }
        },
        separators=(",", ":"),
    )


def _fallback(r: Resilience, reason: str, indent: int) -> str:
    lines = [
        "<choose>",
        f"  <when condition={quoteattr(f'@({CACHEABLE})')}>",
        f'    <cache-lookup-value key={_key_ref()} variable-name="{CACHED_VARIABLE}" />',
        "  </when>",
        "</choose>",
        "<choose>",
        f'  <when condition="@(context.Variables.ContainsKey(&quot;{CACHED_VARIABLE}&quot;))">',
        "    <return-response>",
        '      <set-status code="200" reason="OK" />',
        f'      <set-header name="{CACHE_HEADER}" exists-action="override"><value>{reason}</value>'
        "</set-header>",
        '      <set-header name="Content-Type" exists-action="override"><value>application/json</value>'
        "</set-header>",
        f"      <set-body>@((string)context.Variables[&quot;{CACHED_VARIABLE}&quot;])</set-body>",
        "    </return-response>",
        "  </when>",
        "  <otherwise>",
        "    <return-response>",
        '      <set-status code="503" reason="Service Unavailable" />',
        f'      <set-header name="Retry-After" exists-action="override"><value>{r.retry_after_seconds}'
        "</value></set-header>",
        '      <set-header name="Content-Type" exists-action="override"><value>application/json</value>'
        "</set-header>",
        f"      <set-body>{_text(error_body(r.model, r.retry_after_seconds))}</set-body>",
        "    </return-response>",
        "  </otherwise>",
        "</choose>",
    ]
    return "\n".join(" " * indent + line for line in lines)


def _key_ref() -> str:
    return quoteattr(f'@((string)context.Variables["{CACHE_KEY_VARIABLE}"])')


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
