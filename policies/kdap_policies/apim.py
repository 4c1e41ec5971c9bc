"""API Management rules: legacy TLS off on both sides of the gateway, HTTPS and certificate checks to
backends, encrypted protocols only on APIs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

from kdap_policies import builtins
from kdap_policies.config import PolicyConfig
from kdap_policies.resource import Resource, as_strings, is_false
from kdap_policies.rules import AnyResourceRule, Finding, ResourceRule

SERVICE = frozenset({"azure-native:apimanagement:ApiManagementService"})
BACKEND_OR_API = frozenset({"azure-native:apimanagement:Backend", "azure-native:apimanagement:Api"})
API = frozenset({"azure-native:apimanagement:Api"})

_SECURITY = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."
# Client-side and backend-side legacy protocols, and the 3DES cipher; defaults differ by service age and tier,
# so each must be switched off explicitly.
LEGACY_SETTINGS = tuple(
    _SECURITY + suffix
    for suffix in (
        "Protocols.Tls10",
        "Protocols.Tls11",
        "Protocols.Ssl30",
        "Backend.Protocols.Tls10",
        "Backend.Protocols.Tls11",
        "Backend.Protocols.Ssl30",
        "Ciphers.TripleDes168",
    )
)
_ENCRYPTED = frozenset({"https", "wss"})


def _legacy_tls(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    # Keys contain dots, so they are read from the mapping, not by dotted path.
    custom = resource.props.get("customProperties")
    custom = custom if isinstance(custom, Mapping) else {}
    left_on = [key for key in LEGACY_SETTINGS if not is_false(custom.get(key))]
    if left_on:
        short = ", ".join(f"{key.removeprefix(_SECURITY)}={custom.get(key) or 'unset'}" for key in left_on)
        yield Finding(
            "customProperties",
            f"does not set 'False' for {short} (under {_SECURITY})",
            "set custom_properties={" + ", ".join(f"'{key}': 'False'" for key in left_on) + "}",
        )


def _https_url(resource: Resource, prop: str) -> Iterator[Finding]:
    url = resource.get(prop)
    if isinstance(url, str) and urlsplit(url).scheme.lower() != "https":
        yield Finding(
            prop, f"is {url!r}: calls to the backend are not encrypted", f"use an https:// URL for {prop}"
        )


def _backend_https(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    if resource.type.endswith(":Api"):
        yield from _https_url(resource, "serviceUrl")
        return
    yield from _https_url(resource, "url")
    for check in ("validateCertificateChain", "validateCertificateName"):
        if is_false(resource.get(f"tls.{check}")):
            yield Finding(
                f"tls.{check}",
                "is false: a forged backend certificate would be accepted",
                f"remove tls.{check}=False",
            )


def _api_protocols(resource: Resource, config: PolicyConfig) -> Iterator[Finding]:
    protocols = [p.lower() for p in as_strings(resource.get("protocols"))]
    plain = sorted(set(protocols) - _ENCRYPTED)
    if not protocols:
        yield Finding(
            "protocols",
            "is not set, so the API's protocols are left to defaults",
            "set protocols=['https'] (or ['wss'] for WebSocket APIs)",
        )
    elif plain:
        yield Finding("protocols", f"includes unencrypted {', '.join(plain)}", "keep only 'https' and 'wss'")


RULES: tuple[AnyResourceRule, ...] = (
    ResourceRule(
        "apim-legacy-tls-disabled",
        "API Management disables SSL 3.0, TLS 1.0/1.1 and 3DES on both sides.",
        SERVICE,
        _legacy_tls,
        PolicyConfig,
        builtins.closest(builtins.APIM_ENCRYPTED_PROTOCOLS),
    ),
    ResourceRule(
        "apim-backend-https",
        "API Management reaches backends over HTTPS with certificate validation.",
        BACKEND_OR_API,
        _backend_https,
        PolicyConfig,
        builtins.APIM_BACKEND_CERT_VALIDATION,
    ),
    ResourceRule(
        "apim-api-encrypted-protocols",
        "API Management APIs accept HTTPS or WSS only.",
        API,
        _api_protocols,
        PolicyConfig,
        builtins.APIM_ENCRYPTED_PROTOCOLS,
    ),
)
