"""A rollout transition as each receiver kind wants it: pure (no I/O, no clock), so every payload is tested
byte for byte.

Every payload is built as Python data and serialised with ``json.dumps``: whatever a message or template
holds (quotes, newlines, braces), it is a string value and cannot change the payload's structure. Slack
reads ``<``, ``>`` and ``&`` in text as control sequences (``<!channel>`` pings everyone, ``<url|label>`` is
a link), so they are escaped as Slack documents; a Teams TextBlock has no such sequences to escape.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from modeldeploy.api.notifications import Trigger

CLOUDEVENT_TYPE_PREFIX = "io.kdap.mlops.rollout."
_PLACEHOLDER = re.compile(r"\{\{([a-z]+)\}\}")
# Slack's limits: 3,000 characters in a section's text, 150 in a header (longer ones are refused).
_SLACK_SECTION = 3000
_SLACK_HEADER = 150


@dataclass(frozen=True)
class Notice:
    """One transition of one ModelDeployment, as every receiver sees it."""

    namespace: str
    name: str
    uid: str
    trigger: Trigger
    reason: str  # the Event's reason: Promoted, PromotedByRequest, DriftDetected, Aborted...
    message: str
    warning: bool
    revision: str
    model: str
    version: str
    time: datetime

    @property
    def id(self) -> str:
        """The same for every attempt and every receiver of this transition, so receivers can de-duplicate."""
        key = f"{self.uid}/{self.trigger}/{self.reason}/{self.revision}/{self.time.isoformat()}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, key))

    @property
    def source(self) -> str:
        return f"/apis/mlops.kdap.io/v1alpha1/namespaces/{self.namespace}/modeldeployments/{self.name}"

    def fields(self) -> dict[str, str]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "trigger": self.trigger.value,
            "reason": self.reason,
            "message": self.message,
            "revision": self.revision,
            "model": self.model,
            "version": self.version,
            "time": self.time.isoformat(),
        }


def substitute(template: str, fields: dict[str, str]) -> str:
    """``{{field}}`` replaced by its value, once: a value containing ``{{name}}`` stays as written, and an
    unknown placeholder (the API refuses them; an older object might hold one) is left as it is."""
    return _PLACEHOLDER.sub(lambda m: fields.get(m[1], m[0]), template)


def text(notice: Notice, template: str | None) -> str:
    if template is not None:
        return substitute(template, notice.fields())
    return f"{notice.namespace}/{notice.name}: {notice.trigger.value} ({notice.reason}): {notice.message}"


def title(notice: Notice) -> str:
    return f"{notice.trigger.value}: {notice.namespace}/{notice.name}"


def slack_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def slack(notice: Notice, template: str | None) -> dict[str, object]:
    body = slack_escape(text(notice, template))
    context = f"revision {notice.revision or '-'} · model {notice.model} {notice.version} · {notice.reason}"
    return {
        "text": body,  # what notifications and clients without blocks show
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(title(notice), _SLACK_HEADER)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, _SLACK_SECTION)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(context)}]},
        ],
    }


def teams(notice: Notice, template: str | None) -> dict[str, object]:
    """A message with one Adaptive Card attachment: what both a Teams incoming webhook and a Workflows
    "post to a channel when a webhook request is received" flow accept."""
    facts = [
        {"title": "Revision", "value": notice.revision or "-"},
        {"title": "Model", "value": f"{notice.model} {notice.version}"},
        {"title": "Reason", "value": notice.reason},
        {"title": "Time", "value": notice.time.isoformat()},
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": title(notice),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
                "color": "Attention" if notice.warning else "Good",
            },
            {"type": "TextBlock", "text": text(notice, template), "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def webhook(notice: Notice, template: str | None) -> dict[str, object]:
    return {
        "id": notice.id,
        **notice.fields(),
        "severity": "Warning" if notice.warning else "Normal",
        "text": text(notice, template),
    }


def cloudevent(notice: Notice, template: str | None) -> dict[str, object]:
    """CloudEvents 1.0, structured content mode (the whole event is the JSON body)."""
    data = {k: v for k, v in webhook(notice, template).items() if k not in ("id", "time")}
    return {
        "specversion": "1.0",
        "id": notice.id,
        "source": notice.source,
        "type": CLOUDEVENT_TYPE_PREFIX + notice.trigger.value[0].lower() + notice.trigger.value[1:],
        "subject": notice.revision or notice.name,
        "time": notice.time.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


_KINDS = {"teams": teams, "slack": slack, "webhook": webhook, "cloudevents": cloudevent}
CONTENT_TYPES = {
    "teams": "application/json",
    "slack": "application/json",
    "webhook": "application/json",
    "cloudevents": "application/cloudevents+json; charset=utf-8",
}


def render(kind: str, notice: Notice, template: str | None) -> tuple[bytes, str]:
    """The body to POST and its Content-Type."""
    payload = _KINDS[kind](notice, template)
    return json.dumps(payload, ensure_ascii=False).encode(), CONTENT_TYPES[kind]
