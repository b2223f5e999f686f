"""A stand-in web site on 127.0.0.1 for smoke and visual checks: pages set (and changed, between
a "before" and an "after") by the test, plus two hostile answers a broken server gives: a body
dripped a few bytes at a time, and a body that never ends."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tma_agent.testing.local_server import LocalServer

__all__ = ["DRIP_PATH", "ENDLESS_PATH", "Page", "PageServer"]

#: Answers 200 and sends its body one small chunk every `drip_interval` seconds, for a minute.
DRIP_PATH = "/drip"
#: Answers 200 without a length and sends 64 KiB chunks until the client hangs up.
ENDLESS_PATH = "/endless"


@dataclass(frozen=True)
class Page:
    body: str = ""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    #: Read at each request instead of `body`: a page a playbook's command can change.
    file: Path | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def content(self) -> bytes:
        return self.file.read_bytes() if self.file is not None else self.body.encode()


class PageServer(LocalServer):
    def __init__(self, pages: dict[str, Page] | None = None, *, drip_interval: float = 0.2) -> None:
        self._pages: dict[str, Page] = dict(pages or {})
        self._lock = threading.Lock()
        self.drip_interval = drip_interval
        #: Bytes the endless page managed to send before the client hung up.
        self.endless_sent = 0
        #: Paths requested, in order.
        self.requested: list[str] = []
        self._serve_with(self._handler())

    def set(self, path: str, page: Page | str) -> None:
        with self._lock:
            self._pages[path] = page if isinstance(page, Page) else Page(page)

    def page_url(self, path: str) -> str:
        return self.url + path

    def _page(self, path: str) -> Page | None:
        with self._lock:
            return self._pages.get(path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.requested.append(path)
                if path == DRIP_PATH:
                    self._drip()
                elif path == ENDLESS_PATH:
                    self._endless()
                else:
                    page = server._page(path) or Page("<h1>Not Found</h1>", 404)
                    self._send(page)

            def _send(self, page: Page) -> None:
                body = page.content()
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in page.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _drip(self) -> None:
                chunk = b"<p>slow</p>\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(chunk) * 300))
                self.end_headers()
                for _ in range(300):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    time.sleep(server.drip_interval)

            def _endless(self) -> None:
                chunk = b"<p>" + b"x" * (64 * 1024 - 8) + b"</p>\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Connection", "close")
                self.end_headers()
                while True:
                    self.wfile.write(chunk)
                    server.endless_sent += len(chunk)

        return Handler
