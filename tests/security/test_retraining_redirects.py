"""Finding 3 (part): the retraining CloudEvent carries a Secret's token as a bearer token, and urllib
re-sent it, Authorization header included, to wherever a redirect pointed. Now a redirect is an error and
the token goes to the configured URL only."""

from __future__ import annotations

import threading
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
