"""The API Management policy in front of every LLM API, as a pure function so tests can parse it.

In the order a request meets it: an Entra ID token; the token limit (per subscription: a rate per minute
and a monthly quota, prompt tokens estimated before the call); Azure AI Content Safety with Prompt Shields
on the prompt; the adapter split — the adapter_id the caller sent picks its route table (the named value
``platform.adapter_routes_name``, rewritten by the operator), a version is drawn by weight and written back
into ``adapter_id``, and a mirrored copy goes to a shadow version when the table has one; token metrics
with the adapter and the revision as dimensions; then the model's endpoint as the gateway's identity.

On the managed path the endpoint runs an OpenAI-compatible multi-LoRA server (vLLM), which picks the adapter
by the body's ``model``: the policy also writes the routed adapter id there (the served base model's name
when no adapter is asked for), and waits as long as the deployment's request timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from kdap_infra.apim_policy import AZURE_ML_RESOURCE, entra_validation_xml
from modeldeploy.api import platform

CONTENT_SAFETY_BACKEND = "content-safety"
SAFETY_CATEGORIES = ("Hate", "SelfHarm", "Sexual", "Violence")
METRIC_NAMESPACE = platform.LLM_METRIC_NAMESPACE
# Per-adapter series: the adapter callers asked for and the revision (version) that answered. Subscription
# and API are API Management's own dimensions. Five custom dimensions at most per policy (Azure Monitor).
TOKEN_DIMENSIONS = ("API ID", "Subscription ID", "adapter", "revision")
ADAPTER_VARIABLE, PICK_VARIABLE, ROUTES_VARIABLE = "kdapAdapter", "kdapPick", "kdapRoutes"
UNKNOWN_ADAPTER_STATUS = 400
# llm-token-limit's estimate of the caller's tokens left this month, on every answer. Content safety and a
# spent monthly quota both answer 403; only the quota's says 0 here (README "Serverless and LLM models").
QUOTA_HEADER = "x-kdap-remaining-quota-tokens"


def llm_backend_id(endpoint: str) -> str:
    return f"llm-{endpoint}"


@dataclass(frozen=True)
class LlmPolicy:
    tenant_id: str
    audience: str
    endpoint: str  # the model endpoint's name (route tables are named after it)
    endpoint_url: str  # its OpenAI-compatible base URL, for the mirrored copy
    adapters: tuple[str, ...]
    tokens_per_minute: int
    monthly_token_quota: int
    safety_threshold: int
    backend_client_id: str
    timeout_seconds: int = 120
    served_model: str | None = None  # a multi-LoRA server's base model name: the body's model names adapters


def _var(name: str) -> str:
    return f'((string)context.Variables["{name}"])'


def _routes_choice(p: LlmPolicy) -> str:
    """One branch per declared adapter: a named value can only be referenced by a literal name."""

    def when(adapter: str) -> str:
        table = "{{" + platform.adapter_routes_name(p.endpoint, adapter) + "}}"
        return f"""      <when condition={quoteattr(f'@({_var(ADAPTER_VARIABLE)} == "{adapter}")')}>
        <set-variable name="{ROUTES_VARIABLE}" value="{table}" />
      </when>"""

    whens = "\n".join(when(a) for a in p.adapters)
    known = ", ".join(p.adapters) or "none"
    error = f'{{"error": {{"code": "UnknownAdapter", "message": "adapter_id must be one of: {known}"}}}}'
    return f"""    <choose>
      <when condition={quoteattr(f'@({_var(ADAPTER_VARIABLE)} == "")')}>
        <set-variable name="{ROUTES_VARIABLE}" value="{platform.ADAPTER_ROUTES_UNROUTED}" />
      </when>
{whens}
      <otherwise>
        <return-response>
          <set-status code="{UNKNOWN_ADAPTER_STATUS}" reason="Unknown adapter" />
          <set-header name="Content-Type" exists-action="override">
            <value>application/json</value>
          </set-header>
          <set-body>{_text(error)}</set-body>
        </return-response>
      </otherwise>
    </choose>"""


# Draws "<revision>|<adapter id>" by weight from the live entries ('' when the adapter is not routed), and
# the mirror entry by its percent; the table's format is platform.encode_routes'.
_PICK_SOURCE = """@{
    var live = new List<string[]>();
    var total = 0;
    foreach (var entry in ((string)context.Variables["kdapRoutes"]).Split(',')) {
        var f = entry.Split('|');
        if (f.Length == 3 && int.Parse(f[2]) > 0) { live.Add(f); total += int.Parse(f[2]); }
    }
    if (total == 0) { return ""; }
    var roll = new Random().Next(total);
    foreach (var f in live) {
        roll -= int.Parse(f[2]);
        if (roll < 0) { return f[0] + "|" + f[1]; }
    }
    return "";
}"""
_MIRROR_SOURCE = """@{
    foreach (var entry in ((string)context.Variables["kdapRoutes"]).Split(',')) {
        var f = entry.Split('|');
        if (f.Length == 4 && f[0] == "mirror" && new Random().Next(100) < int.Parse(f[3])) {
            return f[1] + "|" + f[2];
        }
    }
    return "";
}"""


def _one_line(source: str) -> str:
    # An attribute value: its line breaks would be escaped (&#10;) anyway; C# does not need them.
    return " ".join(line.strip() for line in source.splitlines())


_PICK, _MIRROR = _one_line(_PICK_SOURCE), _one_line(_MIRROR_SOURCE)


def _with_adapter(variable: str, names_model: bool = False) -> str:
    model = ' body["model"] = body["adapter_id"];' if names_model else ""
    return (
        "@{ var body = context.Request.Body.As<JObject>(preserveContent: true); "
        f"body[\"adapter_id\"] = {_var(variable)}.Split('|')[1];{model} return body.ToString(); }}"
    )


def _model_choice(served_model: str | None) -> str:
    """The managed path's server picks the adapter by ``model``: the adapter id the request now carries,
    else the base model."""
    if served_model is None:
        return ""
    source = (
        "@{ var body = context.Request.Body.As<JObject>(preserveContent: true); "
        'var adapter = body["adapter_id"]?.ToString() ?? ""; '
        f'body["model"] = adapter == "" ? "{served_model}" : adapter; return body.ToString(); }}'
    )
    return f"\n    <set-body>{_text(source)}</set-body>"


def llm_policy_xml(p: LlmPolicy) -> str:
    adapter_of = (
        '@(context.Request.Body?.As<JObject>(preserveContent: true)?["adapter_id"]?.ToString() ?? "")'
    )
    revision = f'@({_var(PICK_VARIABLE)} == "" ? "base" : {_var(PICK_VARIABLE)}.Split(\'|\')[0])'
    adapter_dim = f'@({_var(ADAPTER_VARIABLE)} == "" ? "base" : {_var(ADAPTER_VARIABLE)})'
    categories = "\n".join(
        f'        <category name="{c}" threshold="{p.safety_threshold}" />' for c in SAFETY_CATEGORIES
    )
    dimensions = "\n".join(
        f'      <dimension name="{d}" />' for d in TOKEN_DIMENSIONS if d in ("API ID", "Subscription ID")
    )
    picked = f'@({_var(PICK_VARIABLE)} != "")'
    client = quoteattr(p.backend_client_id)
    identity = f'<authentication-managed-identity resource="{AZURE_ML_RESOURCE}" client-id={client} />'
    return f"""<policies>
  <inbound>
    <base />
{entra_validation_xml(p.tenant_id, p.audience)}
    <set-header name="Authorization" exists-action="delete" />
    <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="{p.tokens_per_minute}"
        token-quota="{p.monthly_token_quota}" token-quota-period="Monthly" estimate-prompt-tokens="true"
        remaining-tokens-header-name="x-kdap-remaining-tokens"
        remaining-quota-tokens-header-name="{QUOTA_HEADER}" />
    <llm-content-safety backend-id="{CONTENT_SAFETY_BACKEND}" shield-prompt="true">
      <categories output-type="FourSeverityLevels">
{categories}
      </categories>
    </llm-content-safety>
    <set-variable name="{ADAPTER_VARIABLE}" value={quoteattr(adapter_of)} />
{_routes_choice(p)}
    <set-variable name="{PICK_VARIABLE}" value={quoteattr(_PICK)} />
    <set-variable name="kdapMirror" value={quoteattr(_MIRROR)} />
    <choose>
      <when condition={quoteattr(picked)}>
        <set-body>{_text(_with_adapter(PICK_VARIABLE))}</set-body>
      </when>
    </choose>{_model_choice(p.served_model)}
    <choose>
      <when condition={quoteattr(f'@({_var("kdapMirror")} != "")')}>
        <send-one-way-request mode="copy" timeout="30">
          <set-url>{_text(p.endpoint_url.rstrip("/") + "/chat/completions")}</set-url>
          <set-body>{_text(_with_adapter("kdapMirror", p.served_model is not None))}</set-body>
          {identity}
        </send-one-way-request>
      </when>
    </choose>
    <llm-emit-token-metric namespace="{METRIC_NAMESPACE}">
{dimensions}
      <dimension name="adapter" value={quoteattr(adapter_dim)} />
      <dimension name="revision" value={quoteattr(revision)} />
    </llm-emit-token-metric>
    <set-backend-service backend-id={quoteattr(llm_backend_id(p.endpoint))} />
    {identity}
  </inbound>
  <backend>
    <forward-request timeout="{p.timeout_seconds}" />
  </backend>
  <outbound>
    <base />
    <set-header name="{platform.ADAPTER_HEADER}" exists-action="override">
      <value>{_text(revision)}</value>
    </set-header>
  </outbound>
  <on-error>
    <base />
  </on-error>
</policies>
"""


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
