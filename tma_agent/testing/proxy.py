"""An HTTP reverse proxy on 127.0.0.1 that can lose answers on purpose.

Put in front of a real ticket system (the test Redmine), it forwards every request and relays
the answer, except for the requests a rule matches: `hold` forwards the request (the server
really applies the write), then keeps the answer back until the test releases it or the
client is gone (the test SIGKILLs the `tma` process meanwhile); `drop` forwards it and closes
the connection without answering (a lost answer); `unavailable` answers 503 without forwarding
(a ticket system down for maintenance). That is the window where a client has
written but not recorded: what exactly-once delivery must survive.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Literal
from urllib.parse import urlsplit

from tma_agent.testing.local_server import LocalServer

__all__ = ["LosingProxy", "Rule"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "content-length",
}


@dataclass
class Rule:
    method: str
    path_prefix: str
    action: Literal["hold", "drop", "unavailable"]
    #: How many matching requests the rule applies to; then it is spent.
    times: int = 1
    #: Set when a matching request has been answered by the upstream and is being held.
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and path.startswith(self.path_prefix)


class LosingProxy(LocalServer):
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rules: list[Rule] = []
        #: (method, path) of every request forwarded, answered or not.
        self.forwarded: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                rule = proxy._take_rule(self.command, self.path)
                if rule is not None and rule.action == "unavailable":
                    rule.reached.set()
                    self.send_response(503, "Service Unavailable")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, reason, headers, payload = proxy._forward(
                    self.command, self.path, dict(self.headers.items()), body
                )
                if rule is not None:
                    rule.reached.set()
                    if rule.action == "hold":
                        rule.release.wait(timeout=120)
                    self.close_connection = True
                    return  # the answer is lost: nothing is sent back
                self.send_response(status, reason)
                for key, value in headers:
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        self._serve_with(Handler)

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def _take_rule(self, method: str, path: str) -> Rule | None:
        with self._lock:
            self.forwarded.append((method, path))
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    return rule
        return None

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            return answer.status, answer.reason, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def stop(self) -> None:
        for rule in self.rules:
            rule.release.set()
        super().stop()
