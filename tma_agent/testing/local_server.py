"""The threaded HTTP server on 127.0.0.1 under every local stand-in the tests run (the feed
server, the answer-losing proxy, the ticket-system fakes, the webhook receiver): a free port,
daemon threads, a near-instant stop, and clients that give up (timeout tests) not reported as
server faults."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

__all__ = ["LocalServer"]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LocalServer:
    """Subclasses build their handler class and call `_serve_with(handler)` in `__init__`."""

    _httpd: ThreadingHTTPServer

    def _serve_with(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self._httpd = _QuietServer(("127.0.0.1", port), handler)
        # A short poll interval makes stop() (which waits for the serving loop) near-instant.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
