"""The API Management policy in front of every scoring API, as a pure function so tests can parse it."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

# Online endpoints with auth_mode AADToken accept tokens for this resource.
AZURE_ML_RESOURCE = "https://ml.azure.com"
# Pinning a deployment with this header would bypass the operator's traffic split (and shadow mirroring).
DEPLOYMENT_PIN_HEADER = "azureml-model-deployment"


@dataclass(frozen=True)
class ScoringPolicy:
    tenant_id: str
    audience: str
    calls: int
    renewal_period_seconds: int
    backend_client_id: str


def scoring_policy_xml(p: ScoringPolicy) -> str:
    login = f"https://login.microsoftonline.com/{p.tenant_id}"
    return f"""<policies>
  <inbound>
    <base />
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401"
        failed-validation-error-message="A valid Entra ID bearer token is required."
        require-scheme="Bearer" require-expiration-time="true" require-signed-tokens="true">
      <openid-config url={quoteattr(f"{login}/v2.0/.well-known/openid-configuration")} />
      <audiences>
        <audience>{_text(p.audience)}</audience>
      </audiences>
      <issuers>
        <issuer>{_text(f"{login}/v2.0")}</issuer>
        <issuer>{_text(f"https://sts.windows.net/{p.tenant_id}/")}</issuer>
      </issuers>
    </validate-jwt>
    <rate-limit-by-key calls="{p.calls}" renewal-period="{p.renewal_period_seconds}"
        counter-key="@(context.Subscription.Id)" />
    <set-header name="{DEPLOYMENT_PIN_HEADER}" exists-action="delete" />
    <set-header name="Authorization" exists-action="delete" />
    <authentication-managed-identity resource="{AZURE_ML_RESOURCE}"
        client-id={quoteattr(p.backend_client_id)} />
  </inbound>
  <backend>
    <base />
  </backend>
  <outbound>
    <base />
  </outbound>
  <on-error>
    <base />
  </on-error>
</policies>
"""


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
