"""Notification delivery to HTTP receivers the tests start: what each receives, a receiver that fails then
succeeds, one that always fails (counted, an Event after giving up), one that redirects (not followed),
Retry-After capped, and a receiver that hangs never delaying a reconcile."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modeldeploy.api.notifications import Trigger
from modeldeploy.api.spec import ModelDeploymentSpec
from modeldeploy.controller.notifications import Failure, Notifier, retry_after
from modeldeploy.controller.policies import PolicyGate
from modeldeploy.ports import Owner
from modeldeploy.rollout.actions import EmitEvent, EventType
from tests.backends.kubernetes.specs import kubernetes_spec
from tests.controller.fakes import FakeEvents

OWNER = Owner(namespace="team-a", name="budget", uid="u-1")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PROMOTED = EmitEvent(
    EventType.NORMAL,
    "Promoted",
    "revision budget-3f2a takes 100% of traffic",
    (Trigger.PROMOTED,),
    "budget-3f2a",
)


class Receiver:
    """An HTTP server answering each POST with the next of ``answers`` (the last one repeats)."""

    def __init__(self, *answers: tuple[int, dict[str, str]], delay: float = 0.0) -> None:
        self.answers, self.delay = list(answers) or [(200, {})], delay
        self.got: list[tuple[str, dict[str, str], bytes, float]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.got.append((self.path, dict(self.headers), body, time.monotonic()))
                time.sleep(outer.delay)
                code, headers = outer.answers[min(len(outer.got), len(outer.answers)) - 1]
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook/T0/B0/s3cretpart") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Secrets:
    def __init__(self, data: dict[tuple[str, str], dict[str, str]]) -> None:
        self.data = data
        self.reads: list[tuple[str, str]] = []

    def read(self, namespace: str, name: str) -> Mapping[str, str]:
        self.reads.append((namespace, name))
        if (namespace, name) not in self.data:
            raise Failure(f"cannot read Secret {namespace}/{name}: HTTP 404 Not Found")
        return self.data[(namespace, name)]


class Counts:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, namespace: str, kind: str, outcome: str) -> None:
        self.seen.append((namespace, kind, outcome))

    def outcomes(self) -> list[str]:
        return [o for _, _, o in self.seen]


def spec_with(*subs: dict[str, Any]) -> ModelDeploymentSpec:
    return kubernetes_spec(notifications=list(subs))


def sub(kind: str, on: str = "Promoted", **to: Any) -> dict[str, Any]:
    return {"triggers": [on], "to": {"kind": kind, "secretRef": {"name": "hooks", "key": kind}, **to}}


@pytest.fixture
def counts() -> Counts:
    return Counts()


@pytest.fixture
def events() -> FakeEvents:
    return FakeEvents()


def notifier(secrets: Secrets, counts: Counts, events: FakeEvents, **kw: Any) -> Notifier:
    kw.setdefault("backoff", 0.05)
    kw.setdefault("max_delay", 0.3)
    kw.setdefault("timeout", 2.0)
    return Notifier(secrets, "kdap-system", events=events, count=counts, **kw)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_every_kind_posts_its_payload_with_its_content_type_and_token(
    receiver: Receiver, counts: Counts, events: FakeEvents
) -> None:
    kinds = ["teams", "slack", "webhook", "cloudevents"]
    data = {k: receiver.url(f"/{k}") for k in kinds} | {"token": "t0ken"}
    secrets = Secrets({("team-a", "hooks"): data})
    n = notifier(secrets, counts, events)
    subs = [sub(k) for k in kinds[:2]] + [sub(k, tokenKey="token") for k in kinds[2:]]
    assert n.notify(OWNER, spec_with(*subs, sub("slack", on="RolledBack")), PROMOTED, NOW) == 4
    assert n.flush(10)
    got = {path: (headers, json.loads(body)) for path, headers, body, _ in receiver.got}
    assert sorted(got) == ["/cloudevents", "/slack", "/teams", "/webhook"]
    assert got["/teams"][1]["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert got["/slack"][1]["text"].startswith("team-a/budget: Promoted (Promoted): revision budget-3f2a")
    assert got["/webhook"][1]["revision"] == "budget-3f2a"
    assert got["/cloudevents"][1]["type"] == "io.kdap.mlops.rollout.promoted"
    assert got["/cloudevents"][0]["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert got["/webhook"][0]["Authorization"] == "Bearer t0ken"
    assert "Authorization" not in got["/slack"][0]
    assert counts.outcomes() == ["sent"] * 4
    assert events.events == []
    n.stop()


def test_a_receiver_failing_then_succeeding_gets_it_after_backoff(counts: Counts, events: FakeEvents) -> None:
    flaky = Receiver((503, {}), (503, {"Retry-After": "0"}), (200, {}))
    try:
        n = notifier(Secrets({("team-a", "hooks"): {"webhook": flaky.url()}}), counts, events)
        n.notify(OWNER, spec_with(sub("webhook")), PROMOTED, NOW)
        assert n.flush(10)
        assert len(flaky.got) == 3
        gaps = [b[3] - a[3] for a, b in zip(flaky.got, flaky.got[1:], strict=False)]
        assert gaps[0] >= 0.04  # the first backoff (0.05 s) was waited
        assert gaps[1] >= 0.09  # then doubled; a Retry-After of 0 does not shorten it
        assert counts.outcomes() == ["retried", "retried", "sent"]
        assert events.events == []
        assert len({body for _, _, body, _ in flaky.got}) == 1  # the same event id every attempt
    finally:
        flaky.close()


def test_a_receiver_that_always_fails_is_given_up_counted_and_told_on_the_object(
    counts: Counts, events: FakeEvents
) -> None:
    down = Receiver((500, {}))
    try:
        n = notifier(Secrets({("team-a", "hooks"): {"teams": down.url()}}), counts, events, attempts=3)
        n.notify(OWNER, spec_with(sub("teams")), PROMOTED, NOW)
        assert n.flush(10)
        assert len(down.got) == 3
        assert counts.seen == [("team-a", "teams", "retried")] * 2 + [("team-a", "teams", "failed")]
        (event,) = events.events
        assert event[:2] == (EventType.WARNING, "NotificationFailed")
        assert event[2] == (
            "Promoted notification (teams, spec.notifications[0]) not delivered after 3 attempts: the "
            "receiver answered HTTP 500"
        )
        assert "s3cretpart" not in event[2]  # the URL is a credential
    finally:
        down.close()


def test_a_redirect_is_not_followed_and_not_retried(
    receiver: Receiver, counts: Counts, events: FakeEvents
) -> None:
    redirect = Receiver((307, {"Location": receiver.url("/elsewhere")}))
    try:
        n = notifier(Secrets({("team-a", "hooks"): {"slack": redirect.url()}}), counts, events)
        n.notify(OWNER, spec_with(sub("slack")), PROMOTED, NOW)
        assert n.flush(10)
        assert len(redirect.got) == 1
        assert receiver.got == []
        assert counts.outcomes() == ["failed"]
        assert events.events[0][2].endswith(
            "not delivered after 1 attempt: the receiver answered HTTP 307 (a redirect, not followed)"
        )
    finally:
        redirect.close()


def test_retry_after_is_honoured_up_to_the_cap(counts: Counts, events: FakeEvents) -> None:
    busy = Receiver((429, {"Retry-After": "3600"}), (200, {}))
    try:
        n = notifier(Secrets({("team-a", "hooks"): {"webhook": busy.url()}}), counts, events, max_delay=0.5)
        n.notify(OWNER, spec_with(sub("webhook")), PROMOTED, NOW)
        assert n.flush(10)
        gap = busy.got[1][3] - busy.got[0][3]
        assert 0.45 <= gap < 3  # an hour asked, the cap (0.5 s) waited
        assert counts.outcomes() == ["retried", "sent"]
    finally:
        busy.close()
    assert retry_after("120", 0) == 120
    assert retry_after("Wed, 30 Nov 2026 12:00:30 GMT", NOW.timestamp()) == 30
    assert retry_after("soon", 0) is None


def test_secret_problems_are_reported_without_posting(counts: Counts, events: FakeEvents) -> None:
    n = notifier(Secrets({("team-a", "hooks"): {"other": "x"}}), counts, events, attempts=2)
    n.notify(OWNER, spec_with(sub("slack"), sub("webhook", tokenKey="token")), PROMOTED, NOW)
    n.notify(Owner("team-b", "budget", "u-2"), spec_with(sub("slack")), PROMOTED, NOW)
    assert n.flush(10)
    assert sorted(m.split(") not delivered ")[1] for _, _, m in events.events) == [
        "after 1 attempt: Secret team-a/hooks has no key 'slack' holding the URL",
        "after 1 attempt: Secret team-a/hooks has no key 'webhook' holding the URL",
        "after 2 attempts: cannot read Secret team-b/hooks: HTTP 404 Not Found",
    ]


def test_policy_defaults_read_the_operator_namespace_and_own_urls_need_a_granted_host(
    receiver: Receiver, counts: Counts, events: FakeEvents
) -> None:
    default = {
        "triggers": ["Promoted"],
        "to": {"kind": "webhook", "secretRef": {"name": "platform", "key": "url"}},
    }
    gate = PolicyGate()
    grant = {"secretNames": ["hooks"], "hosts": ["127.0.0.1"], "defaults": [default]}
    gate.replace(
        [{"metadata": {"name": "platform"}, "spec": {"namespaceSelector": {}, "notifications": grant}}],
        [{"metadata": {"name": "team-a"}}],
    )
    secrets = Secrets(
        {
            ("kdap-system", "platform"): {"url": receiver.url("/platform")},
            ("team-a", "hooks"): {"webhook": receiver.url("/own")},
        }
    )
    n = notifier(secrets, counts, events, gate=gate)
    assert n.notify(OWNER, spec_with(sub("webhook")), PROMOTED, NOW) == 2
    assert n.flush(10)
    assert [path for path, *_ in receiver.got] == ["/platform"]  # the platform's own host needs no grant
    (event,) = events.events
    assert "the URL in Secret team-a/hooks: the URL must be https://host" in event[2]  # http: refused
    assert "s3cretpart" not in event[2]


def test_a_hanging_receiver_never_delays_the_caller_and_a_full_buffer_drops(
    counts: Counts, events: FakeEvents
) -> None:
    hang = Receiver((200, {}), delay=0.5)
    try:
        n = notifier(Secrets({("team-a", "hooks"): {"webhook": hang.url()}}), counts, events, buffer=3)
        s = spec_with(sub("webhook"))
        start = time.monotonic()
        for _ in range(6):
            n.notify(OWNER, s, PROMOTED, NOW)
        assert time.monotonic() - start < 0.2
        assert counts.outcomes().count("dropped") >= 2  # one in flight at most, three waiting
        assert n.flush(20)
        assert counts.outcomes().count("sent") == len(hang.got)
    finally:
        hang.close()


def test_events_without_notices_or_unsubscribed_transitions_queue_nothing(
    counts: Counts, events: FakeEvents
) -> None:
    n = notifier(Secrets({}), counts, events)
    ready = EmitEvent(EventType.NORMAL, "RevisionReady", "revision x is Ready", (), "x")
    assert n.notify(OWNER, spec_with(sub("webhook")), ready, NOW) == 0
    rolled = EmitEvent(EventType.WARNING, "AnalysisFailed", "m", (Trigger.ROLLED_BACK,), "x")
    assert n.notify(OWNER, spec_with(sub("webhook")), rolled, NOW) == 0
    assert n.flush(1)


def test_a_hanging_receiver_never_delays_a_reconcile_and_gets_every_transition_in_order(
    counts: Counts, events: FakeEvents
) -> None:
    from tests.controller.test_reconciler import World, _spec

    hang = Receiver((200, {}), delay=0.5)
    try:
        world = World()
        world.reconciler.notifier = n = notifier(
            Secrets({("ml", "hooks"): {"webhook": hang.url()}}), counts, events
        )
        on = ["Started", "StepAdvanced", "Promoted"]
        to = {"kind": "webhook", "secretRef": {"name": "hooks", "key": "webhook"}}
        subscriptions = [{"triggers": on, "to": to}]
        slowest = 0.0
        for version in ("1.0.0", "2.0.0"):  # the first is promoted at once, the second steps
            spec = _spec(version, notifications=subscriptions)
            for _ in range(8):
                start = time.monotonic()
                out = world.reconciler.reconcile(world.body(spec))
                slowest = max(slowest, time.monotonic() - start)
                world.now += timedelta(seconds=out.requeue_after or 1)
        assert world.store.status.phase is not None
        assert world.store.status.phase.value == "Promoted"
        assert slowest < 0.4  # each POST takes 0.5 s; no reconcile waited for one
        assert n.flush(20)
        sent = [json.loads(body) for _, _, body, _ in hang.got]
        assert [b["trigger"] for b in sent] == [
            "Started",
            "Promoted",
            "Started",
            "StepAdvanced",
            "StepAdvanced",
            "Promoted",
        ]
        assert [b["reason"] for b in sent][1] == "FirstRevisionPromoted"
        assert sent[-1]["namespace"] == "ml"
    finally:
        hang.close()
