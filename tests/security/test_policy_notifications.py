"""The notifications grant: a subscription's Secret must be granted to the namespace (checked with the
spec, like every other reference), and the host of the URL read from it must be granted too (checked when
it is read, since only then is it known). Default deny; a refusal names the field and what is granted, and
never the URL (it is a credential)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modeldeploy.api.policy import ModelDeploymentPolicySpec
from modeldeploy.controller.policies import PolicyGate
from modeldeploy.policy import notification_refusal
from tests.security.policy_cases import TEAM, messages, policy, refused, spec

HOOK = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
SUBS = [
    {"triggers": ["Promoted"], "to": {"kind": "slack", "secretRef": {"name": "slack-hook"}}},
    {
        "triggers": ["RolledBack"],
        "to": {"kind": "teams", "secretRef": {"name": "teams-hook", "key": "webhook"}},
    },
]
GRANT = {
    "hosts": ["hooks.slack.com", "prod-12.westeurope.logic.azure.com:8443"],
    "secretNames": ["slack-hook"],
}


def test_no_grant_refuses_every_subscription_secret_naming_the_field() -> None:
    assert messages(spec(notifications=SUBS), policy()) == [
        'spec.notifications[0].to.secretRef.name: notification Secret "slack-hook" is not granted to '
        'namespace "team-a" by any ModelDeploymentPolicy (granted: none)',
        'spec.notifications[1].to.secretRef.name: notification Secret "teams-hook" is not granted to '
        'namespace "team-a" by any ModelDeploymentPolicy (granted: none)',
    ]


def test_granted_secrets_pass_and_a_star_grants_any() -> None:
    assert [r.field for r in refused(spec(notifications=SUBS), policy(notifications=GRANT))] == [
        "spec.notifications[1].to.secretRef.name"
    ]
    assert refused(spec(notifications=SUBS), policy(notifications={"secretNames": ["*"]})) == []


def test_a_retraining_webhook_grant_does_not_grant_notifications() -> None:
    retraining = {"webhooks": [{"host": "hooks.slack.com", "secretNames": ["slack-hook"]}], "pipelines": []}
    fields = [r.field for r in refused(spec(notifications=SUBS[:1]), policy(retraining=retraining))]
    assert "spec.notifications[0].to.secretRef.name" in fields


def url_refusal(url: str, grant: dict[str, object] | None = GRANT) -> str | None:
    policies = [policy(notifications=grant)] if grant is not None else []
    return notification_refusal(spec(notifications=SUBS), "team-a", "budget", TEAM, policies, url)


def test_the_url_host_must_be_granted_and_the_refusal_never_repeats_the_url() -> None:
    assert url_refusal(HOOK) is None
    assert url_refusal("https://hooks.slack.com:443/services/x?y=1") is None
    assert (
        url_refusal(
            "https://prod-12.westeurope.logic.azure.com:8443/workflows/a/triggers/manual/paths/invoke?sig=s"
        )
        is None
    )
    refusal = url_refusal("https://evil.example/services/T000/B000/XXXXSECRETXXXX")
    assert refusal == (
        'notification host "evil.example" is not granted to namespace "team-a" by any ModelDeploymentPolicy '
        "(granted: hooks.slack.com, prod-12.westeurope.logic.azure.com:8443)"
    )
    assert url_refusal(HOOK, None) is not None  # default deny


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.slack.com/services/x", "must be https://host"),
        ("https://user:pw@hooks.slack.com/x", "plain DNS name"),
        ("https://hooks.slack.com.evil.example/x", "not granted"),
        ("https://hooks.slack.com:8443/x", 'host "hooks.slack.com:8443" is not granted'),
        ("https://hooks.slack.com/x#frag", "no fragment"),
        ("https://[::1]/x", "plain DNS name"),
        ("https://hooks.slack.com\\@evil.example/x", "must be https://host"),
    ],
)
def test_urls_in_no_form_the_check_accepts_are_refused(url: str, why: str) -> None:
    refusal = url_refusal(url)
    assert refusal is not None
    assert why in refusal
    assert "/x" not in refusal


def test_gate_defaults_come_from_policies_selecting_the_namespace_only() -> None:
    default = {"triggers": ["RolledBack"], "to": {"kind": "teams", "secretRef": {"name": "platform-teams"}}}
    gate = PolicyGate()
    mine = policy("b-platform", notifications={"defaults": [default]}).spec
    other = ModelDeploymentPolicySpec.model_validate(
        {
            "namespaceSelector": {"matchLabels": {"kdap.io/team": "b"}},
            "notifications": {"defaults": [default]},
        }
    )
    gate.replace(
        [
            {"metadata": {"name": "b-platform"}, "spec": mine.to_manifest()},
            {"metadata": {"name": "other-team"}, "spec": other.to_manifest()},
        ],
        [{"metadata": {"name": "team-a", "labels": TEAM}}],
    )
    found = gate.notification_defaults("team-a")
    assert [(name, [s.to.secret_ref.name for s in subs]) for name, subs in found] == [
        ("b-platform", ["platform-teams"])
    ]
    assert gate.notification_refusal("team-a", "budget", spec(), "https://evil.example/x") is not None
    assert (
        PolicyGate("off").notification_refusal("team-a", "budget", spec(), "https://evil.example/x") is None
    )


def test_a_grant_host_in_a_bad_form_is_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError, match="should match pattern"):
        policy(notifications={"hosts": ["https://hooks.slack.com"]})
