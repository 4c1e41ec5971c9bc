"""A promotion posts a CloudEvent to an https receiver the test starts: the URL read from a Secret through
the API, its host granted by the ModelDeploymentPolicy; a Secret naming an ungranted host is refused at
delivery with a NotificationFailed Event, and the rollout goes on regardless."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from localkube.testing import ClusterHandle
from tests.e2e.conftest import StartOperator, phase, wait_for
from tests.e2e.manifests import model_deployment

pytestmark = pytest.mark.cluster


class HttpsReceiver:
    def __init__(self, tmp: Path) -> None:
        self.cert, key = tmp / "receiver.pem", tmp / "receiver.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(self.cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        self.got: list[tuple[dict[str, str], dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.got.append((dict(self.headers), json.loads(body)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[HttpsReceiver]:
    r = HttpsReceiver(tmp_path)
    yield r
    r.server.shutdown()


def test_a_promotion_posts_a_cloudevent_and_an_ungranted_host_is_refused(
    cluster: ClusterHandle,
    namespace: str,
    start_operator: StartOperator,
    receiver: HttpsReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hooks"},
        "stringData": {
            "ok": f"https://{receiver.host}/events?sig=s3cret",
            "elsewhere": "https://evil.example/x",
        },
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(secret))
    monkeypatch.setenv("SSL_CERT_FILE", str(receiver.cert))  # the operator trusts the receiver's certificate
    op = start_operator(notifications={"hosts": [receiver.host], "secretNames": ["hooks"]})
    subs = [
        {
            "triggers": ["Promoted"],
            "to": {"kind": "cloudevents", "secretRef": {"name": "hooks", "key": "ok"}},
        },
        {
            "triggers": ["Promoted"],
            "to": {"kind": "slack", "secretRef": {"name": "hooks", "key": "elsewhere"}},
        },
    ]
    md = model_deployment("budget", notifications=subs)
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(md))
    done = wait_for(cluster, namespace, "budget", lambda b: phase(b) == "Promoted", "promoted", operator=op)

    end = time.monotonic() + 30
    while not receiver.got and time.monotonic() < end:
        time.sleep(0.2)
    assert receiver.got, op.output()[-4000:]
    headers, event = receiver.got[0]
    assert headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert event["type"] == "io.kdap.mlops.rollout.promoted"
    assert event["source"] == f"/apis/mlops.kdap.io/v1alpha1/namespaces/{namespace}/modeldeployments/budget"
    assert event["data"]["revision"] == done["status"]["stable"]["name"]
    assert event["data"]["reason"] == "FirstRevisionPromoted"

    def refused() -> list[str]:
        items = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
        return [e["message"] for e in items if e["reason"] == "NotificationFailed"]

    end = time.monotonic() + 30
    while not refused() and time.monotonic() < end:
        time.sleep(0.3)
    (message,) = refused()
    assert message == (
        "Promoted notification (slack, spec.notifications[1]) not delivered after 1 attempt: the URL in "
        f'Secret {namespace}/hooks: notification host "evil.example" is not granted to namespace '
        f'"{namespace}" by any ModelDeploymentPolicy (granted: {receiver.host})'
    )
