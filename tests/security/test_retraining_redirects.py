"""Finding 3 (part): the retraining CloudEvent carries a Secret's token as a bearer token, and urllib
re-sent it, Authorization header included, to wherever a redirect pointed. Now a redirect is an error and
the token goes to the configured URL only."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from modeldeploy.controller.retraining import _post


class Collector(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        Collector.seen.append(dict(self.headers))
        self.send_response(200)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def _server(handler: type[BaseHTTPRequestHandler]) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def elsewhere() -> Iterator[str]:
    Collector.seen = []
    server = _server(Collector)
    yield f"http://127.0.0.1:{server.server_address[1]}/collect"
    server.shutdown()


def test_a_redirect_never_carries_the_token_elsewhere(elsewhere: str) -> None:
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", elsewhere)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    webhook = _server(Redirect)
    try:
        url = f"http://127.0.0.1:{webhook.server_address[1]}/retrain"
        req = urllib.request.Request(
            url, data=b"{}", headers={"Authorization": "Bearer s3cret"}, method="POST"
        )
        with pytest.raises(OSError, match="redirects are not followed"):
            _post(req)
    finally:
        webhook.shutdown()
    assert Collector.seen == []


def test_the_configured_url_gets_the_event(elsewhere: str) -> None:
    req = urllib.request.Request(elsewhere, data=b"{}", headers={"Authorization": "Bearer t"}, method="POST")
    _post(req)
    assert [h.get("Authorization") for h in Collector.seen] == ["Bearer t"]


def test_prometheus_never_follows_a_redirect_to_an_address_no_policy_granted(elsewhere: str) -> None:
    """A granted Prometheus address that redirects would take the query (and what it reveals) to a host no
    ModelDeploymentPolicy granted: the analysis says so instead of following it."""
    from datetime import UTC, datetime

    from modeldeploy.analysis.prometheus import PrometheusProvider

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", elsewhere)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    granted = _server(Redirect)
    try:
        address = f"http://127.0.0.1:{granted.server_address[1]}"
        now = datetime.now(UTC)
        value = PrometheusProvider(address).query("up", {}, now, now)
    finally:
        granted.shutdown()
    assert Collector.seen == []  # nothing reached the other host
    assert value.value is None
    assert value.error is True
    assert f"{address} answered HTTP 307" in value.message
    assert f"redirected to {elsewhere}; redirects are not followed" in value.message


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://127.0.0.1:1/x", "data:,x"])
def test_the_opener_speaks_http_and_https_only(url: str) -> None:
    """Defence in depth: the addresses a spec or a team's Secret names are checked to be http(s) (with
    --policy off a notification URL is not), and urllib's default opener would also read local files
    (the operator's tokens), FTP and data: URLs."""
    from modeldeploy.http import OPENER

    with pytest.raises(urllib.error.URLError, match=f"unknown url type: {url.split(':')[0]}"):
        OPENER.open(urllib.request.Request(url, data=b"{}", method="POST"), timeout=2)
