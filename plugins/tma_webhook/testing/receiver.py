"""A webhook receiver on 127.0.0.1 that does what docs/tickets.md asks of a real one: it
refuses a delivery whose signature or timestamp does not verify (401), keeps each delivery id
once and answers a repeat as it answered the first, and keeps the tickets the events describe.

Failures are injected for the next deliveries, in order: an HTTP status (`fail_next`), an
answer that never comes (`hang_next`), a write applied whose answer is lost (`drop_next`), or
any odd answer (`answer_next`). `python -m tma_webhook.testing.receiver` runs one in the
foreground and prints each delivery: a way to see what the agent sends before wiring n8n.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from tma_agent.testing.local_server import LocalServer
from tma_webhook.signing import DELIVERY_HEADER, EVENT_HEADER, TOLERANCE_SECONDS, verify

__all__ = ["Delivery", "Fault", "Ticket", "WebhookReceiver", "main"]

#: A note with files carries them in base64 (visual checks' images: a few 100 KB each).
_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]


@dataclass
class Ticket:
    ref: str
    fingerprint: str
    title: str
    status: str = "open"
    notes: list[str] = field(default_factory=list)
    #: The files of notes with files, by name, decoded (their `size` checked).
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    kind: Literal["status", "hang", "drop"]
    status: int = 503
    body: bytes = b'{"error": "busy"}'
    content_type: str = "application/json"
    #: For `status`: apply the write first (an odd answer to a write that was kept).
    apply: bool = False
    #: For `hang`: how long to hold the connection before closing it unanswered.
    seconds: float = 30.0


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


def _json(status: int, data: object) -> _Answer:
    return _Answer(status, json.dumps(data).encode())


class WebhookReceiver(LocalServer):
    def __init__(
        self,
        secret: str,
        *,
        answer_refs: bool = True,
        tolerance: float = TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
        port: int = 0,
    ) -> None:
        #: Change it while running to play a receiver whose secret was rotated.
        self.secret = secret
        self.answer_refs = answer_refs
        self.tolerance = tolerance
        self.clock = clock
        #: Deliveries kept, by id, in arrival order; `repeats` counts the ones skipped.
        self.deliveries: dict[str, Delivery] = {}
        self.repeats: Counter[str] = Counter()
        #: Why each refused delivery was refused (401s).
        self.rejected: list[str] = []
        #: Every POST that reached the receiver, whatever became of it.
        self.hits = 0
        self.tickets: dict[str, Ticket] = {}
        self._answers: dict[str, _Answer] = {}
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._serve_with(self._handler(), port)

    def fail_next(self, times: int = 1, status: int = 503, body: bytes = b"") -> None:
        self._add(times, Fault("status", status, body or b'{"error": "busy"}'))

    def hang_next(self, times: int = 1, seconds: float = 30.0) -> None:
        self._add(times, Fault("hang", seconds=seconds))

    def drop_next(self, times: int = 1) -> None:
        self._add(times, Fault("drop"))

    def answer_next(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        apply: bool = True,
        times: int = 1,
    ) -> None:
        self._add(times, Fault("status", status, body, content_type, apply))

    def _add(self, times: int, fault: Fault) -> None:
        with self._lock:
            self._faults.extend([fault] * times)

    def events(self) -> list[str]:
        return [delivery.event for delivery in self.deliveries.values()]

    def receive(self, headers: dict[str, str], raw: bytes) -> _Answer:
        """What a delivery gets: verified, then applied once (a repeat gets the first answer)."""
        problem = verify(self.secret, headers, raw, now=self.clock(), tolerance=self.tolerance)
        if problem:
            with self._lock:
                self.rejected.append(problem)
            return _json(401, {"error": problem})
        try:
            body = json.loads(raw)
        except ValueError:
            return _json(400, {"error": "body is not JSON"})
        lowered = {key.lower(): value for key, value in headers.items()}
        delivery_id = lowered.get(DELIVERY_HEADER.lower(), "")
        event = lowered.get(EVENT_HEADER.lower(), "")
        if not isinstance(body, dict) or body.get("delivery_id") != delivery_id or not event:
            return _json(400, {"error": "headers and body disagree"})
        with self._lock:
            if delivery_id in self._answers:
                self.repeats[delivery_id] += 1
                return self._answers[delivery_id]
            answer = self._apply(event, body)
            if 200 <= answer.status < 300:
                self.deliveries[delivery_id] = Delivery(delivery_id, event, body, raw, headers)
                self._answers[delivery_id] = answer
            return answer

    def _apply(self, event: str, body: dict[str, Any]) -> _Answer:
        if event == "ping":
            return _json(200, {"ok": True})
        if event == "ticket.created":
            # Answering no ref, the receiver is told of the ticket by the agent's default ref.
            default = str(body["delivery_id"]).removeprefix("create:")
            ref = f"WH-{len(self.tickets) + 1}" if self.answer_refs else default
            self.tickets[ref] = Ticket(ref, str(body["fingerprint"]), str(body["title"]))
            if not self.answer_refs:
                return _Answer(200, b"OK", "text/plain")
            return _json(201, {"ref": ref, "url": f"{self.url}/tickets/{ref}"})
        ticket = self.tickets.get(str(body.get("ref")))
        if ticket is None:
            return _json(404, {"error": f"no ticket {body.get('ref')}"})
        if event == "ticket.updated" and isinstance(body.get("files"), list):
            for item in body["files"]:  # a note with files: the ticket's fields stay
                content = base64.b64decode(item["content_base64"], validate=True)
                if len(content) != item["size"]:
                    return _json(400, {"error": f"{item['filename']}: size disagrees"})
                ticket.files[str(item["filename"])] = content
        elif event == "ticket.updated":
            ticket.title = str(body["title"])
        elif event == "ticket.closed":
            ticket.status = "closed"
        else:
            return _json(400, {"error": f"unknown event {event}"})
        if body.get("note"):
            ticket.notes.append(str(body["note"]))
        return _json(200, {"ok": True})

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self._send(_json(413, {"error": "body too large"}))
                    return
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.hits += 1
                fault = receiver._next_fault()
                if fault and fault.kind == "hang":
                    receiver._stopping.wait(fault.seconds)
                    self._drop()
                    return
                if fault and fault.kind == "status" and not fault.apply:
                    self._send(_Answer(fault.status, fault.body, fault.content_type))
                    return
                answer = receiver.receive(dict(self.headers.items()), raw)
                if fault and fault.kind == "drop":
                    self._drop()  # applied, but the agent never hears it
                    return
                if fault:
                    answer = _Answer(fault.status, fault.body, fault.content_type)
                self._send(answer)

            def _send(self, answer: _Answer) -> None:
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _drop(self) -> None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

        return Handler

    def stop(self) -> None:
        self._stopping.set()
        super().stop()


def main() -> None:
    """Run a receiver until Ctrl-C: the secret from TMA_WEBHOOK_SECRET, on 127.0.0.1 and the
    port TMA_WEBHOOK_PORT (8787); each kept delivery's body is printed as one JSON line on
    stdout, each refused one's reason on stderr."""
    secret = os.environ.get("TMA_WEBHOOK_SECRET")
    if not secret:
        sys.exit("set TMA_WEBHOOK_SECRET to the secret of the tickets block")
    port = int(os.environ.get("TMA_WEBHOOK_PORT", "8787"))
    with WebhookReceiver(secret, port=port) as receiver:
        print(f"receiving on {receiver.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
        kept = refused = 0
        try:
            while True:
                time.sleep(0.2)
                for delivery in list(receiver.deliveries.values())[kept:]:
                    print(json.dumps(delivery.body, ensure_ascii=False), flush=True)
                    kept += 1
                for reason in receiver.rejected[refused:]:
                    print(f"refused (401): {reason}", file=sys.stderr, flush=True)
                    refused += 1
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
