"""Platform defaults: the fields of an Azure ML target that the platform's handoff may fill in.

infra/ publishes what a ModelDeployment on its stack targets (the stack output ``operator_handoff``, and the
ConfigMap ``kdap-system/kdap-platform`` when it installs the operator): subscription, resource group,
workspace, Log Analytics workspace, and per declared model (matched by ``namespace/name``) the endpoint's
name, kind and compute. A ModelDeployment may leave those out; the operator fills them from the handoff.

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
LOG_ANALYTICS = "logAnalyticsWorkspaceId"
LOCATION = ("subscriptionId", "resourceGroup", "workspace", "endpointName")
REQUIRED = (*LOCATION, "instanceType")
# Where the object lives: immutable in the spec, and pinned in status whichever way the value came.
PINNED = (*LOCATION, "endpointKind")
# Sizing follows the platform (a new instance type in the stack config rolls out as a new revision); the last
# value used is kept beside the pins, only to carry on if the handoff cannot be read.
FOLLOWS = "instanceType"


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
            source, top, log_analytics, models, _checked(apim, APIM) if isinstance(apim, Mapping) else {}
        )


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
    spec, else the current handoff (a platform change rolls out as a new revision), else the last one used.
    Compute and the Log Analytics workspace are filled from the current handoff when absent, unpinned.
    Other targets pass through unchanged (validation reports a missing block). Raises
    :class:`PlatformDefaultsError` when a written value contradicts its pin or a required field is in neither
    the spec nor the platform."""
    target = spec.get("target")
    block = target.get("azureml") if isinstance(target, Mapping) else None
    if not isinstance(target, Mapping) or target.get("type") != "azureml" or not isinstance(block, Mapping):
        return dict(spec), dict(pinned)
    model = handoff.models.get(f"{namespace}/{name}", {}) if handoff else {}
    offered = {**(handoff.top if handoff else {}), **model}
    filled, pins = dict(block), {}
    for key in PINNED:
        written, pin = block.get(key), pinned.get(key)
        if pin is not None and written is not None and written != pin:
            raise PlatformDefaultsError(
                f'target.azureml.{key} is "{written}" but this ModelDeployment was created with "{pin}": '
                "create a new ModelDeployment to change it"
            )
        value = written if written is not None else pin if pin is not None else offered.get(key)
        if key == "endpointKind" and value is None:
            value = "managed"  # the field's default, pinned like a written kind
        if isinstance(value, str):
            filled[key] = pins[key] = value
    if FOLLOWS not in filled:
        value = model.get(FOLLOWS) or pinned.get(FOLLOWS)
        if value is not None:
            filled[FOLLOWS] = pins[FOLLOWS] = value
    else:
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
    missing = [key for key in REQUIRED if key not in filled]
    if missing:
        where = handoff.source if handoff else "no platform handoff is configured"
        raise PlatformDefaultsError(
            f"target.azureml.{missing[0]} is not set and the platform does not provide it ({where}): set it "
            f"in the spec, or declare the model for {namespace}/{name} in the stack's kdap-platform:endpoints"
        )
    out = dict(spec)
    out["target"] = {**target, "azureml": filled}
    return out, pins
