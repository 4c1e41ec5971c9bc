"""``spec.notifications``: who is told which rollout transitions, and how.

A subscription names the transitions (``triggers``: not ``on``, which YAML 1.1 parsers, kubectl's
included, read as the boolean true), a receiver kind and the Secret key holding the receiver's
URL: a webhook URL is a credential (anyone holding a Teams or Slack incoming-webhook URL may post to the
channel), so it never appears in the ModelDeployment, which Git and every reader of the object see. The
Secret must be one a ModelDeploymentPolicy grants to the namespace (``notifications.secretNames``), and the
host the URL names one it grants too (``notifications.hosts``), checked when the URL is read.

Templates are a small substitution language: ``{{name}}`` for one of :data:`TEMPLATE_FIELDS`, nothing else
(no expressions, attribute access or code), so a template can only arrange text the operator already has.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field

from . import patterns
from .base import ApiModel, cel


class Trigger(StrEnum):
    """A rollout transition a subscription may ask for (the machine tags its Events with these)."""

    STARTED = "Started"
    STEP_ADVANCED = "StepAdvanced"
    PAUSED = "Paused"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    DRIFT_CONFIRMED = "DriftConfirmed"
    RETRAINING_STARTED = "RetrainingStarted"
    RUN_FAILED = "RunFailed"  # a batch run (spec.batch) failed


TEMPLATE_FIELDS = (
    "namespace",
    "name",
    "trigger",
    "reason",
    "message",
    "revision",
    "model",
    "version",
    "time",
)
_FIELD = "|".join(TEMPLATE_FIELDS)
# Text in which every "{{" opens a known {{field}}: RE2, so the apiserver runs the same expression.
TEMPLATE = rf"^([^{{]|\{{[^{{]|\{{\{{({_FIELD})\}}\}})*\{{?$"
_TEMPLATE = re.compile(TEMPLATE, re.DOTALL)
TEMPLATE_MESSAGE = (
    "notifications[].template may use only {{field}} placeholders with field one of "
    + ", ".join(TEMPLATE_FIELDS)
)
TEMPLATE_LIMIT = 2048


class SecretKeyRef(ApiModel):
    name: str = Field(
        pattern=patterns.DNS_SUBDOMAIN, max_length=253, description="A Secret in the namespace."
    )
    key: str = Field(
        "url", pattern=r"^[-._a-zA-Z0-9]+$", max_length=253, description="Its key holding the URL."
    )


class Receiver(ApiModel):
    kind: Literal["teams", "slack", "webhook", "cloudevents"] = Field(
        description="teams: an Adaptive Card to a Teams incoming webhook or Workflows URL; slack: an "
        "incoming webhook's text and blocks; webhook: plain JSON; cloudevents: a CloudEvents 1.0 "
        "structured-mode event."
    )
    secret_ref: SecretKeyRef = Field(description="Where the receiver's https URL is kept.")
    token_key: str | None = Field(
        None,
        pattern=r"^[-._a-zA-Z0-9]+$",
        max_length=253,
        description="A key of the same Secret whose value is sent as a bearer token (webhook, cloudevents).",
    )


class Subscription(ApiModel):
    triggers: list[Trigger] = Field(min_length=1, max_length=len(Trigger), description="Transitions to send.")
    to: Receiver
    template: str | None = Field(
        None,
        max_length=TEMPLATE_LIMIT,
        description="The message text, with {{field}} placeholders (" + ", ".join(TEMPLATE_FIELDS) + "); "
        "unset: the Event's message.",
    )

    @cel(
        "!has(self.template) || self.template.matches('" + TEMPLATE.replace("\\", "\\\\") + "')",
        TEMPLATE_MESSAGE,
    )
    def _template_fields(self) -> bool:
        return self.template is None or _TEMPLATE.match(self.template) is not None
