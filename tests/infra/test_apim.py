"""API Management: the scoring policy XML, TLS hardening, logging and one API per endpoint."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kdap_infra.apim import TLS_HARDENING
from kdap_infra.apim_policy import Resilience, ScoringPolicy, scoring_policy_xml
from kdap_infra.testing import ProgramRun


def policy_of(run: ProgramRun, endpoint: str) -> ET.Element:
    policy = run.named("azure-native:apimanagement:ApiPolicy", f"api-{endpoint}-policy").inputs
    assert policy["format"] == "rawxml"
    return ET.fromstring(policy["value"])


def gateway_client_id(run: ProgramRun) -> str:
    value: str = run.outputs["identity_client_ids"]["gateway"]
    return value


def test_policy_validates_entra_token_for_the_audience(dev: ProgramRun) -> None:
    inbound = policy_of(dev, "budget-optimizer").find("inbound")
    assert inbound is not None
    jwt = inbound.find("validate-jwt")
    assert jwt is not None
    assert jwt.get("header-name") == "Authorization"
    assert jwt.get("failed-validation-httpcode") == "401"
    assert jwt.get("require-signed-tokens") == "true"
    tenant = dev.config.tenant_id
    openid = jwt.find("openid-config")
    assert openid is not None
    assert (
        openid.get("url")
        == f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
    )
    assert [a.text for a in jwt.iter("audience")] == ["api://kdap-dev-scoring"]
    assert {i.text for i in jwt.iter("issuer")} == {
        f"https://login.microsoftonline.com/{tenant}/v2.0",
        f"https://sts.windows.net/{tenant}/",
    }


def test_policy_rate_limits_by_subscription_key(prod: ProgramRun) -> None:
    limit = policy_of(prod, "propensity-scorer").find("inbound/rate-limit-by-key")
    assert limit is not None
    assert limit.get("calls") == "600"
    assert limit.get("renewal-period") == "60"
    assert limit.get("counter-key") == "@(context.Subscription.Id)"


def test_policy_calls_backend_with_gateway_identity(stack: ProgramRun) -> None:
    inbound = policy_of(stack, "budget-optimizer").find("inbound")
    assert inbound is not None
    tags = [child.tag for child in inbound]
    # The caller's token and any deployment pin are dropped before the managed-identity token is attached.
    assert tags == [
        "base",
        "validate-jwt",
        "rate-limit-by-key",
        "set-header",
        "set-header",
        "set-variable",
        "set-backend-service",
        "authentication-managed-identity",
    ]
    removed = {h.get("name"): h.get("exists-action") for h in inbound.findall("set-header")}
    assert removed == {"azureml-model-deployment": "delete", "Authorization": "delete"}
    msi = inbound.find("authentication-managed-identity")
    assert msi is not None
    assert msi.get("resource") == "https://ml.azure.com"
    assert msi.get("client-id") == gateway_client_id(stack)


def test_policy_escapes_what_it_embeds() -> None:
    xml = scoring_policy_xml(
        ScoringPolicy("t", 'api://a&b"<c>', 1, 1, 'x"y', Resilience("m", "v", 'b"&<', 60))
    )
    root = ET.fromstring(xml)
    assert [a.text for a in root.iter("audience")] == ['api://a&b"<c>']
    msi = root.find("inbound/authentication-managed-identity")
    assert msi is not None
    assert msi.get("client-id") == 'x"y'
    backend = root.find("inbound/set-backend-service")
    assert backend is not None
    assert backend.get("backend-id") == 'b"&<'


def test_legacy_tls_is_off_both_ways(stack: ProgramRun) -> None:
    (service,) = stack.of_type("azure-native:apimanagement:ApiManagementService")
    props = service.inputs["customProperties"]
    for proto in ("Tls10", "Tls11", "Ssl30"):
        assert props[f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.{proto}"] == "False"
        assert (
            props[f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.{proto}"]
            == "False"
        )
    assert props == TLS_HARDENING
    assert service.inputs["sku"] == {"name": stack.config.apim.sku, "capacity": stack.config.apim.capacity}
    identities = service.inputs["identity"]["userAssignedIdentities"]
    assert list(identities) == [
        r
        for r in identities
        if r.endswith("/userAssignedIdentities/" + f"kdap-{stack.config.env}-id-gateway")
    ]
    assert len(identities) == 1


def test_logs_go_to_app_insights_as_the_gateway(stack: ProgramRun) -> None:
    (logger,) = stack.of_type("azure-native:apimanagement:Logger")
    assert logger.inputs["loggerType"] == "applicationInsights"
    assert logger.inputs["resourceId"] == stack.outputs["app_insights_id"]
    assert logger.inputs["credentials"]["identityClientId"] == gateway_client_id(stack)
    (diagnostic,) = stack.of_type("azure-native:apimanagement:Diagnostic")
    assert diagnostic.inputs["diagnosticId"] == "applicationinsights"
    assert diagnostic.inputs["logClientIp"] is False


def test_one_https_api_per_endpoint(stack: ProgramRun) -> None:
    apis = {r.inputs["apiId"]: r.inputs for r in stack.of_type("azure-native:apimanagement:Api")}
    # The LLM API in front of the serverless endpoint is tests/infra/test_llm.py's.
    apis.pop(f"llm-{stack.config.serverless.name}")
    assert set(apis) == {e.name for e in stack.config.endpoints}
    for key, api in apis.items():
        assert api["protocols"] == ["https"]
        assert api["subscriptionRequired"] is True
        assert api["path"] == f"models/{key}"
        name = stack.outputs["online_endpoint_names"][key]
        assert api["serviceUrl"] == f"https://{name}.westeurope.inference.ml.azure.com"


def test_logger_connection_string_is_a_secret(stack: ProgramRun) -> None:
    (logger,) = stack.of_type("azure-native:apimanagement:Logger")
    assert "credentials" in logger.secret_inputs
    assert logger.inputs["credentials"]["connectionString"].startswith("InstrumentationKey=")
