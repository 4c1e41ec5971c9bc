"""Platform defaults: the fields of an Azure ML or serverless target that the platform's handoff may fill in.

infra/ publishes what a ModelDeployment on its stack targets (the stack output ``operator_handoff``, and the
ConfigMap ``kdap-system/kdap-platform`` when it installs the operator): subscription, resource group,
workspace, Log Analytics workspace, per declared model (matched by ``namespace/name``) the endpoint's name,
kind and compute, and per declared LLM adapter (``serverless``, matched the same way) the serverless
endpoint, the adapter_id and the API Management gateway. A ModelDeployment may leave those out; the operator
fills them from the handoff.

Where the object lives is pinned in ``status.platformDefaults`` before the operator acts, so a later change
of the handoff never moves an existing ModelDeployment to another workspace or endpoint (the fields are
immutable when written in the spec; the pin gives defaulted ones the same guarantee). A value written in the
spec wins, but one that contradicts its pin is refused: the object was created elsewhere. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import patterns
from .serverless import ADAPTER, APIM_SERVICE

# Fields the platform may default, with the pattern a value from the handoff must match (the handoff is a
# ConfigMap: the operator checks what it reads as it checks a spec).
TOP_LEVEL: dict[str, str] = {
    "subscriptionId": patterns.UUID,
    "resourceGroup": patterns.RESOURCE_GROUP,
    "workspace": patterns.WORKSPACE,
}
PER_MODEL: dict[str, str] = {
    "endpointName": patterns.ENDPOINT,
    "endpointKind": r"^(managed|kubernetes)$",
    "compute": r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$",
    "instanceType": r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
    "versionNamedValue": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$",
}
APIM: dict[str, str] = {
    "resourceGroup": patterns.RESOURCE_GROUP,
    "serviceName": r"^[a-zA-Z][a-zA-Z0-9-]{0,49}$",
}
# A serverless target: per adapter, and its gateway (kept flat as "gateway.<field>" in the pins).
PER_ADAPTER: dict[str, str] = {
    "endpointName": patterns.ENDPOINT,
    "endpointKind": r"^(serverless|managed)$",
    "adapter": ADAPTER,
}
GATEWAY: dict[str, str] = {"resourceGroup": patterns.RESOURCE_GROUP, "service": APIM_SERVICE}
LOG_ANALYTICS = "logAnalyticsWorkspaceId"
LOCATION = ("subscriptionId", "resourceGroup", "workspace", "endpointName")
REQUIRED = (*LOCATION, "instanceType")
# Where the object lives: immutable in the spec, and pinned in status whichever way the value came.
PINNED = (*LOCATION, "endpointKind")
# Sizing follows the platform (a new instance type in the stack config rolls out as a new revision); the last
# value used is kept beside the pins, only to carry on if the handoff cannot be read.
FOLLOWS = "instanceType"
# Everything of a serverless target says where it lives (its endpoint, adapter and route table's gateway).
SERVERLESS_PINNED = (*LOCATION, "endpointKind", "adapter", *(f"gateway.{k}" for k in GATEWAY))


class PlatformDefaultsError(ValueError):
    """The spec and the platform cannot be reconciled; the message says which field and what to do."""


@dataclass(frozen=True)
class Handoff:
    """The parts of the handoff the operator uses, checked field by field."""

    source: str  # where it was read, for messages ("ConfigMap kdap-system/kdap-platform")
    top: dict[str, str] = field(default_factory=dict)
    log_analytics: str | None = None
    models: dict[str, dict[str, str]] = field(default_factory=dict)  # "namespace/name" -> fields
    apim: dict[str, str] = field(default_factory=dict)  # resourceGroup, serviceName of API Management
    adapters: dict[str, dict[str, str]] = field(default_factory=dict)  # "namespace/name" -> flat fields

    def version_named_value(self, namespace: str, name: str) -> tuple[str, str, str] | None:
        """(resource group, service, named value) the promoted version goes to, when the platform fronts
        this ModelDeployment with API Management."""
        named = self.models.get(f"{namespace}/{name}", {}).get("versionNamedValue")
        if named is None or len(self.apim) != len(APIM):
            return None
        return self.apim["resourceGroup"], self.apim["serviceName"], named

    @classmethod
    def parse(cls, source: str, doc: Mapping[str, Any]) -> Handoff:
        """Keep each value that matches its field's pattern; a malformed entry is dropped, never trusted."""
        top = _checked(doc, TOP_LEVEL)
        la = doc.get(LOG_ANALYTICS)
        log_analytics = (
            la if isinstance(la, str) and re.match(patterns.LOG_ANALYTICS_WORKSPACE_ID, la) else None
        )
        models: dict[str, dict[str, str]] = {}
        entries = doc.get("models")
        for entry in entries.values() if isinstance(entries, Mapping) else ():
            if isinstance(entry, Mapping) and isinstance(entry.get("modelDeployment"), str):
                models[entry["modelDeployment"]] = _checked(entry, PER_MODEL)
        apim = doc.get("apim")
        return cls(
            source,
            top,
            log_analytics,
            models,
            _checked(apim, APIM) if isinstance(apim, Mapping) else {},
            _adapters(doc.get("serverless")),
        )


def _adapters(entries: Any) -> dict[str, dict[str, str]]:
    """The LLM adapters infra declared, keyed by their ModelDeployment, with the gateway's fields flat."""
    out: dict[str, dict[str, str]] = {}
    for entry in entries.values() if isinstance(entries, Mapping) else ():
        if isinstance(entry, Mapping) and isinstance(entry.get("modelDeployment"), str):
            gateway = entry.get("gateway")
            flat = _checked(gateway, GATEWAY) if isinstance(gateway, Mapping) else {}
            out[entry["modelDeployment"]] = _checked(entry, PER_ADAPTER) | {
                f"gateway.{k}": v for k, v in flat.items()
            }
    return out


def _checked(doc: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, str]:
    return {
        key: value
        for key, pattern in fields.items()
        if isinstance(value := doc.get(key), str) and re.match(pattern, value)
    }


def apply_platform_defaults(
    namespace: str,
    name: str,
    spec: Mapping[str, Any],
    pinned: Mapping[str, str],
    handoff: Handoff | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """``spec`` with the Azure ML target's missing fields filled, and the pins to keep.

    Where the object lives (subscription, resource group, workspace, endpoint name and kind) comes from the
    spec, else the pin, else the handoff, and is pinned whichever way it came: a written value later removed
    falls back to its pin, not to a handoff that may have changed since. The instance type comes from the
    spec, else the current handoff (a platform change rolls out as a new revision), else the last one used;
    a batch model has none (its runs are sized by ``batch.compute``), so none is filled or required.
    Compute and the Log Analytics workspace are filled from the current handoff when absent, unpinned.
    A serverless target is filled the same way from its adapter's entry, every field pinned but the Log
    Analytics workspace (filled from the current handoff when absent, as on Azure ML).
    Other targets pass through unchanged (validation reports a missing block). Raises
    :class:`PlatformDefaultsError` when a written value contradicts its pin or a required field is in neither
    the spec nor the platform."""
    target = spec.get("target")
    kind = target.get("type") if isinstance(target, Mapping) else None
    block = target.get(kind) if isinstance(target, Mapping) and kind in ("azureml", "serverless") else None
    if not isinstance(target, Mapping) or not isinstance(block, Mapping):
        return dict(spec), dict(pinned)
    where = handoff.source if handoff else "no platform handoff is configured"
    if kind == "serverless":
        filled, pins = _serverless(namespace, name, block, pinned, handoff)
        missing = [key for key in SERVERLESS_PINNED if key not in pins]
        if missing:
            raise PlatformDefaultsError(
                f"target.serverless.{missing[0]} is not set and the platform does not provide it ({where}): "
                f"set it in the spec, or declare the adapter {name} (namespace {namespace}) in the stack's "
                "kdap-platform:serverless.adapters"
            )
    else:
        online = spec.get("batch") is None  # a batch model's runs are sized by batch.compute
        filled, pins = _azureml(namespace, name, block, pinned, handoff, online)
        missing = [key for key in (REQUIRED if online else LOCATION) if key not in filled]
        if missing:
            raise PlatformDefaultsError(
                f"target.azureml.{missing[0]} is not set and the platform does not provide it ({where}): "
                f"set it in the spec, or declare the model for {namespace}/{name} in the stack's "
                "kdap-platform:endpoints"
            )
    out = dict(spec)
    out["target"] = {**target, kind: filled}
    return out, pins


def _pin(kind: str, key: str, written: Any, pinned: Mapping[str, str], offered: Mapping[str, str]) -> Any:
    """The spec's value, else the pin, else the platform's; a written value contradicting its pin is
    refused."""
    pin = pinned.get(key)
    if pin is not None and written is not None and written != pin:
        raise PlatformDefaultsError(
            f'target.{kind}.{key} is "{written}" but this ModelDeployment was created with "{pin}": '
            "create a new ModelDeployment to change it"
        )
    return written if written is not None else pin if pin is not None else offered.get(key)


def _serverless(
    namespace: str,
    name: str,
    block: Mapping[str, Any],
    pinned: Mapping[str, str],
    handoff: Handoff | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    adapter = handoff.adapters.get(f"{namespace}/{name}", {}) if handoff else {}
    offered = {**(handoff.top if handoff else {}), **adapter}
    written_gateway = block.get("gateway")
    gateway: Mapping[str, Any] = written_gateway if isinstance(written_gateway, Mapping) else {}
    written = {**block, **{f"gateway.{k}": v for k, v in gateway.items()}}
    filled, pins = dict(block), {}
    for key in SERVERLESS_PINNED:
        value = _pin("serverless", key, written.get(key), pinned, offered)
        if key == "endpointKind" and value is None:
            value = "serverless"  # the field's default, pinned like a written kind
        if isinstance(value, str):
            pins[key] = value
    filled |= {k: v for k, v in pins.items() if not k.startswith("gateway.")}
    filled["gateway"] = {**gateway, **{k: pins[f"gateway.{k}"] for k in GATEWAY if f"gateway.{k}" in pins}}
    if LOG_ANALYTICS not in filled and handoff and handoff.log_analytics:
        filled[LOG_ANALYTICS] = handoff.log_analytics  # what logAnalytics metrics query; follows the platform
    return filled, pins


def _azureml(
    namespace: str,
    name: str,
    block: Mapping[str, Any],
    pinned: Mapping[str, str],
    handoff: Handoff | None,
    online: bool,
) -> tuple[dict[str, Any], dict[str, str]]:
    model = handoff.models.get(f"{namespace}/{name}", {}) if handoff else {}
    offered = {**(handoff.top if handoff else {}), **model}
    filled, pins = dict(block), {}
    for key in PINNED:
        value = _pin("azureml", key, block.get(key), pinned, offered)
        if key == "endpointKind" and value is None:
            value = "managed"  # the field's default, pinned like a written kind
        if isinstance(value, str):
            filled[key] = pins[key] = value
    # A batch model has no instance type to follow (a written one is refused by the spec's rules).
    if online and FOLLOWS not in filled:
        value = model.get(FOLLOWS) or pinned.get(FOLLOWS)
        if value is not None:
            filled[FOLLOWS] = pins[FOLLOWS] = value
    elif online:
        pins[FOLLOWS] = filled[FOLLOWS]
    if "compute" not in filled and filled["endpointKind"] == "kubernetes" and "compute" in model:
        filled["compute"] = model["compute"]
    if (
        LOG_ANALYTICS not in filled
        and filled["endpointKind"] == "managed"
        and handoff
        and handoff.log_analytics
    ):
        filled[LOG_ANALYTICS] = handoff.log_analytics
    return filled, pins
