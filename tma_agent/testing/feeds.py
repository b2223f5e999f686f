"""A threaded HTTP server on 127.0.0.1 that serves feed fixtures and counts what it is asked.

Routes map a path (query string included when it matters) to a `Reply` or a callable that
builds one from the request; tests change routes while the server runs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tma_agent.testing.local_server import LocalServer

__all__ = ["FeedServer", "Reply", "Request"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (to provoke client timeouts).
    delay: float = 0.0
    #: Send the body with chunked transfer encoding, i.e. without Content-Length.
    chunked: bool = False
    #: Seconds to pause before each `drip_bytes` piece of the body (a feed that trickles:
    #: every read gets data, so only an overall deadline stops it).
    drip: float = 0.0
    drip_bytes: int = 1
    #: Drip the status line and headers too (the body then follows at once).
    drip_head: bool = False

    @property
    def payload(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


Route = Reply | Callable[[Request], Reply]


class FeedServer(LocalServer):
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command, parts.path, parts.query, dict(self.headers.items()), body
                )
                reply = server._answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.payload
                try:
                    if reply.drip_head:
                        self._drip_head(reply, payload)
                        return
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if reply.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                    else:
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    if reply.drip:
                        for start in range(0, len(payload), reply.drip_bytes):
                            time.sleep(reply.drip)
                            self.wfile.write(payload[start : start + reply.drip_bytes])
                            self.wfile.flush()
                        return
                    if not reply.chunked:
                        self.wfile.write(payload)
                        return
                    for start in range(0, len(payload), 16384):
                        chunk = payload[start : start + 16384]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _drip_head(self, reply: Reply, payload: bytes) -> None:
                lines = [f"HTTP/1.1 {reply.status} Dripping", f"Content-Length: {len(payload)}"]
                lines += [f"{key}: {value}" for key, value in reply.headers.items()]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode()
                for start in range(0, len(head), reply.drip_bytes):
                    time.sleep(reply.drip)
                    self.wfile.write(head[start : start + reply.drip_bytes])
                    self.wfile.flush()
                self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _serve

        self._serve_with(Handler)

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            full = f"{request.path}?{request.query}" if request.query else request.path
            route = self.routes.get(full) or self.routes.get(request.path)
            self.hits[request.path] += 1
            self.requests.append(request)
        if route is None:
            return Reply(b"not found", status=404)
        return route(request) if callable(route) else route
