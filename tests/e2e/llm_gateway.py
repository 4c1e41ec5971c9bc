"""An OpenAI-compatible model server and the gateway in front of it, in one small HTTP server, for the
adapter end-to-end test. Nothing here is the product: it stands in for the Azure side.

- ``POST /v1/chat/completions`` with ``adapter_id`` in the body (the seed's ``extra_body``): the gateway
  part does what infra's APIM policy does — reads the adapter's route table (the named value
  ``platform.adapter_routes_name``), picks a version by weight and rewrites ``adapter_id`` to it
  (the test uses canaries: no mirror) — and the model part answers as a chat completion with token usage,
  or 500 for versions listed in ``failing`` (every ``fail_every``-th request).
- ``GET|PUT /namedValues/<name>``: the named values, with ETags and ``If-Match`` as API Management has.
- ``GET /api/v1/query``: a Prometheus query API answering any query that names ``revision="<r>"`` with
  that revision's error ratio so far (no requests yet: no sample), or its completion tokens per request
  when the query names ``llm_tokens``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from modeldeploy.api import platform


class LlmGateway:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.values: dict[str, tuple[str, int]] = {}  # named value -> (value, etag)
        self.failing: set[str] = set()  # adapter ids (name:version) that answer 500
        self.fail_every = 3
        self.requests: Counter[str] = Counter()  # by revision
        self.errors: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.served: list[tuple[str, str, int]] = []  # (adapter asked, adapter id served, status)
        self._lock = threading.Lock()
        self._etag = itertools.count(1)
        self._turn: Counter[str] = Counter()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> Any:
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/api/v1/query":
                    self._send(200, gateway.prometheus(parse_qs(url.query).get("query", [""])[0]))
                elif url.path.startswith("/namedValues/"):
                    got = gateway.values.get(unquote(url.path.rsplit("/", 1)[1]))
                    if got is None:
                        self._send(404, {"error": {"code": "ResourceNotFound"}})
                    else:
                        self._send(200, {"properties": {"value": got[0]}}, {"ETag": f'"{got[1]}"'})
                else:
                    self._send(404, {})

            def do_PUT(self) -> None:
                name = unquote(urlparse(self.path).path.rsplit("/", 1)[1])
                value = self._body()["properties"]["value"]
                status = gateway.put(name, value, self.headers.get("If-Match"))
                self._send(status, {"properties": {"value": value}})

            def do_POST(self) -> None:
                status, doc, headers = gateway.chat(self._body())
                self._send(status, doc, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- named values --------------------------------------------------------------------------------
    def declare(self, adapter: str) -> None:
        """What infra does for each declared adapter."""
        name = platform.adapter_routes_name(self.endpoint, adapter)
        self.values[name] = (platform.ADAPTER_ROUTES_UNROUTED, next(self._etag))

    def put(self, name: str, value: str, if_match: str | None) -> int:
        with self._lock:
            current = self.values.get(name)
            if current is not None and if_match not in (None, "*", f'"{current[1]}"'):
                return 412
            self.values[name] = (value, next(self._etag))
            return 200

    def routes(self, adapter: str) -> tuple[str | None, list[platform.Route], platform.Route | None]:
        return platform.decode_routes(self.values[platform.adapter_routes_name(self.endpoint, adapter)][0])

    # --- the gateway and the model -------------------------------------------------------------------
    def _pick(self, adapter: str) -> tuple[str, str] | None:
        """Smooth weighted round robin over the routed versions (deterministic, unlike the policy's
        random pick, so a 10 % step gets its 10 % in a short test)."""
        _, live, _ = self.routes(adapter)
        routed = [(r, a, w) for r, a, w in live if w > 0]
        if not routed:
            return None
        with self._lock:
            n = self._turn[adapter]
            self._turn[adapter] += 1
        slot, acc = n % 100, 0
        for revision, adapter_id, weight in routed:
            acc += weight
            if slot < acc:
                return revision, adapter_id
        return routed[-1][:2]

    def chat(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        adapter = str(body.get("adapter_id", ""))
        picked = self._pick(adapter) if adapter else None
        if picked is None:
            return 404, {"error": {"code": "AdapterNotRouted", "message": adapter}}, {}
        revision, adapter_id = picked
        with self._lock:
            self.requests[revision] += 1
            n = self.requests[revision]
            failed = adapter_id in self.failing and n % self.fail_every == 0
            if failed:
                self.errors[revision] += 1
            else:
                self.tokens[revision] += 12
            self.served.append((adapter, adapter_id, 500 if failed else 200))
        headers = {platform.ADAPTER_HEADER: revision}
        if failed:
            return 500, {"error": {"code": "InternalServerError", "message": f"{adapter_id} failed"}}, headers
        doc = {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "model": body.get("model", "Meta-Llama-3.1-8B-Instruct"),
            "adapter_id": adapter_id,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 8, "completion_tokens": 12, "total_tokens": 20},
        }
        return 200, doc, headers

    # --- Prometheus ----------------------------------------------------------------------------------
    def prometheus(self, query: str) -> dict[str, Any]:
        m = re.search(r'revision="([^"]+)"', query)
        value: float | None = None
        if m:
            with self._lock:
                n = self.requests[m.group(1)]
                if n:
                    table = self.tokens if "llm_tokens" in query else self.errors
                    value = table[m.group(1)] / n
        result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}
