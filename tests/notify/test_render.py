"""Payloads per receiver kind, the template language and escaping: pure, so checked value by value."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from modeldeploy.api.notifications import Subscription, Trigger
from modeldeploy.notify import Notice, render, routes
from modeldeploy.notify.render import slack_escape, substitute, text

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def notice(**changes: object) -> Notice:
    base: dict[str, object] = {
        "namespace": "team-a",
        "name": "budget",
        "uid": "u-1",
        "trigger": Trigger.ROLLED_BACK,
        "reason": "AnalysisFailed",
        "message": "revision budget-3f2a: error-rate = 0.3 is above the maximum 0.05",
        "warning": True,
        "revision": "budget-3f2a",
        "model": "budget-optimizer",
        "version": "1.4.0",
        "time": NOW,
    }
    base.update(changes)
    return Notice(**base)  # type: ignore[arg-type]


def body(kind: str, n: Notice, template: str | None = None) -> dict[str, object]:
    raw, _ = render(kind, n, template)
    parsed: dict[str, object] = json.loads(raw)
    return parsed


def test_teams_is_a_message_with_one_adaptive_card() -> None:
    b = body("teams", notice())
    assert b["type"] == "message"
    (attachment,) = b["attachments"]  # type: ignore[misc]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, message, facts = card["body"]
    assert title["text"] == "RolledBack: team-a/budget"
    assert title["color"] == "Attention"  # a warning
    assert message["text"] == (
        "team-a/budget: RolledBack (AnalysisFailed): revision budget-3f2a: error-rate = 0.3 is above the "
        "maximum 0.05"
    )
    assert {f["title"]: f["value"] for f in facts["facts"]} == {
        "Revision": "budget-3f2a",
        "Model": "budget-optimizer 1.4.0",
        "Reason": "AnalysisFailed",
        "Time": "2026-11-30T12:00:00+00:00",
    }
    assert body("teams", notice(warning=False))["attachments"][0]["content"]["body"][0]["color"] == "Good"  # type: ignore[index]


def test_slack_has_text_and_blocks_and_escapes_control_sequences() -> None:
    b = body("slack", notice(message="<!channel> see <https://evil.example|here> & more"))
    assert b["text"] == (
        "team-a/budget: RolledBack (AnalysisFailed): &lt;!channel&gt; see &lt;https://evil.example|here&gt; "
        "&amp; more"
    )
    header, section, context = b["blocks"]  # type: ignore[misc]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "RolledBack: team-a/budget"}}
    assert section["text"] == {"type": "mrkdwn", "text": b["text"]}
    assert context["elements"][0]["text"] == (
        "revision budget-3f2a · model budget-optimizer 1.4.0 · AnalysisFailed"
    )


def test_slack_cuts_a_long_section_to_its_limit() -> None:
    b = body("slack", notice(message="x" * 5000))
    section = b["blocks"][1]["text"]["text"]  # type: ignore[index]
    assert len(section) == 3000
    assert section.endswith("…")
    assert len(b["text"]) > 5000  # type: ignore[arg-type]  # the fallback text is whole


def test_webhook_is_flat_json() -> None:
    b = body("webhook", notice())
    assert b == {
        "id": notice().id,
        "namespace": "team-a",
        "name": "budget",
        "trigger": "RolledBack",
        "reason": "AnalysisFailed",
        "message": "revision budget-3f2a: error-rate = 0.3 is above the maximum 0.05",
        "revision": "budget-3f2a",
        "model": "budget-optimizer",
        "version": "1.4.0",
        "time": "2026-11-30T12:00:00+00:00",
        "severity": "Warning",
        "text": text(notice(), None),
    }


def test_cloudevents_structured_mode() -> None:
    raw, content_type = render("cloudevents", notice(trigger=Trigger.PROMOTED, warning=False), None)
    assert content_type == "application/cloudevents+json; charset=utf-8"
    b = json.loads(raw)
    assert b["specversion"] == "1.0"
    assert b["type"] == "io.kdap.mlops.rollout.promoted"
    assert b["source"] == "/apis/mlops.kdap.io/v1alpha1/namespaces/team-a/modeldeployments/budget"
    assert b["subject"] == "budget-3f2a"
    assert b["time"] == "2026-11-30T12:00:00+00:00"
    assert b["datacontenttype"] == "application/json"
    assert b["data"]["trigger"] == "Promoted"
    assert b["data"]["severity"] == "Normal"
    assert "id" not in b["data"]
    assert b["id"] == notice(trigger=Trigger.PROMOTED, warning=False).id


def test_the_id_is_stable_per_transition_and_differs_between_transitions() -> None:
    assert notice().id == notice().id
    assert notice().id != notice(trigger=Trigger.DRIFT_CONFIRMED).id
    assert notice().id != notice(time=datetime(2026, 11, 30, 12, 1, tzinfo=UTC)).id


def test_template_substitution_is_one_pass_and_leaves_unknown_placeholders() -> None:
    fields = {"name": "{{namespace}}", "namespace": "team-a"}
    assert substitute("{{name}} in {{namespace}}", fields) == "{{namespace}} in team-a"
    assert substitute("{{nope}} {{ name }} {name}", fields) == "{{nope}} {{ name }} {name}"


def _text_of(kind: str, b: dict[str, object]) -> object:
    match kind:
        case "teams":
            return b["attachments"][0]["content"]["body"][1]["text"]  # type: ignore[index]
        case "cloudevents":
            return b["data"]["text"]  # type: ignore[index]
        case _:
            return b["text"]


@pytest.mark.parametrize("kind", ["teams", "slack", "webhook", "cloudevents"])
def test_a_template_is_used_by_every_kind_and_cannot_break_the_json(kind: str) -> None:
    tricky = '"}], "evil": true, {"\n\\ {{name}}'
    b = body(kind, notice(message=tricky), "{{model}} {{version}}: {{message}}")
    assert "evil" not in b
    assert _text_of(kind, b) == f"budget-optimizer 1.4.0: {tricky}"  # a value's {{name}} stays as written


def test_the_api_refuses_placeholders_it_does_not_know_with_the_rule_text() -> None:
    base = {"triggers": ["Promoted"], "to": {"kind": "slack", "secretRef": {"name": "hooks"}}}
    Subscription.model_validate({**base, "template": "{{name}} {single} }} {{time}}"})
    for bad in ("{{__class__}}", "{{name.__init__}}", "{{ name }}", "{{name}"):
        with pytest.raises(ValidationError, match=r"notifications\[\]\.template may use only \{\{field\}\}"):
            Subscription.model_validate({**base, "template": bad})
    with pytest.raises(ValidationError, match="Input should be 'Started', 'StepAdvanced'"):
        Subscription.model_validate({**base, "triggers": ["Exploded"]})


def test_routes_send_one_message_per_subscription_and_keep_the_first_matching_transition() -> None:
    hook = {"kind": "webhook", "secretRef": {"name": "hooks"}}
    steps = Subscription.model_validate({"triggers": ["StepAdvanced", "Paused"], "to": hook})
    paused = Subscription.model_validate({"triggers": ["Paused"], "to": hook})
    promoted = Subscription.model_validate({"triggers": ["Promoted"], "to": hook})
    found = routes(
        [Trigger.STEP_ADVANCED, Trigger.PAUSED], [steps, paused, promoted], [("platform", [paused])]
    )
    assert [(r.trigger, r.platform, r.field) for r in found] == [
        (Trigger.STEP_ADVANCED, False, "spec.notifications[0]"),
        (Trigger.PAUSED, False, "spec.notifications[1]"),
        (Trigger.PAUSED, True, "ModelDeploymentPolicy platform spec.notifications.defaults[0]"),
    ]
    assert routes([], [steps]) == []


def test_slack_escape() -> None:
    assert slack_escape("a<b>&c") == "a&lt;b&gt;&amp;c"
