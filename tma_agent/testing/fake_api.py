"""A base for stateful fakes of ticket-system APIs on 127.0.0.1: one handler for every path,
JSON replies, and a failure-injection queue ("the next N requests to this path answer 503 /
hang / apply the write and lose the answer / answer garbage").

A subclass implements `handle(request)` faithfully to the documented wire format; tests reach
its state directly (`fake.issues`) and queue failures with `fail()`.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from tma_agent.testing.feeds import FeedServer, Reply, Request

__all__ = ["Failure", "FakeAPI", "Page", "json_reply", "page_of", "params_of"]


@dataclass(frozen=True)
class Failure:
    """What an injected failure answers instead of the real handler."""

    status: int = 503
    body: Any = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds the answer is held (longer than the client's timeout: it gives up).
    hang: float = 0.0
    #: Run the real handler first (the write happens), then hold its answer `hang` seconds:
    #: the client never learns that its write was applied.
    apply: bool = False
    #: Answer 200 with a body that is not JSON (a proxy's error page).
    garbage: bool = False


@dataclass
class _Queued:
    method: str
    path: re.Pattern[str]
    failure: Failure
    left: int


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    body = b"" if data is None else json.dumps(data, separators=(",", ":")).encode()
    return Reply(body, status, {"Content-Type": "application/json", **(headers or {})})


def params_of(request: Request) -> dict[str, list[str]]:
    """Query, form and JSON body parameters as lists (`iids[]=1&iids[]=2` -> two values)."""
    merged = parse_qs(request.query, keep_blank_values=True)
    kind = {k.lower(): v for k, v in request.headers.items()}.get("content-type", "")
    if request.body and "json" in kind:
        data = json.loads(request.body)
        for key, value in data.items() if isinstance(data, dict) else ():
            merged[key] = value if isinstance(value, list) else [value]
    elif request.body and "form" in kind:
        for key, values in parse_qs(request.body.decode(), keep_blank_values=True).items():
            merged.setdefault(key, []).extend(values)
    return merged


@dataclass(frozen=True)
class Page:
    """One page of an offset-paginated list, with the URLs of its neighbours."""

    items: list[Any]
    number: int
    last: int
    total: int
    per_page: int
    #: `next`, `prev`, `first`, `last` -> absolute URL (the request's query, another `page`).
    links: dict[str, str]

    def link_header(self, rels: tuple[str, ...] = ("next", "prev", "first", "last")) -> str:
        return ", ".join(f'<{self.links[rel]}>; rel="{rel}"' for rel in rels if rel in self.links)


def page_of(base_url: str, request: Request, items: list[Any], *, default: int, cap: int) -> Page:
    """The page `page` (from 1) of `items`, `per_page` of them (at most `cap`)."""
    params = parse_qs(request.query, keep_blank_values=True)
    per_page = max(min(int((params.get("per_page") or [str(default)])[0]), cap), 1)
    number = max(int((params.get("page") or ["1"])[0]), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)

    def url(page: int) -> str:
        query = urlencode({**params, "page": [str(page)]}, doseq=True)
        return f"{base_url}{request.path}?{query}"

    links = {"first": url(1), "last": url(last)}
    if number < last:
        links["next"] = url(number + 1)
    if number > 1:
        links["prev"] = url(number - 1)
    chunk = items[(number - 1) * per_page : number * per_page]
    return Page(chunk, number, last, len(items), per_page, links)


class FakeAPI(FeedServer):
    def __init__(self) -> None:
        super().__init__()
        self.state_lock = threading.RLock()
        self._failures: list[_Queued] = []

    def fail(self, method: str, path: str, failure: Failure, times: int = 1) -> None:
        """The next `times` requests `method path` (a regular expression matched against the
        whole path, `*` for any method) answer `failure`."""
        with self.state_lock:
            self._failures.append(_Queued(method.upper(), re.compile(path), failure, times))

    def recover(self) -> None:
        """Forget the failures still queued: the ticket system answers again."""
        with self.state_lock:
            self._failures.clear()

    def handle(self, request: Request) -> Reply:  # pragma: no cover - subclasses answer
        raise NotImplementedError

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.hits[request.path] += 1
            self.requests.append(request)
        failure = self._take(request)
        if failure is None:
            return self._handled(request)
        if failure.apply:
            reply = self._handled(request)
            return Reply(reply.body, reply.status, reply.headers, delay=failure.hang)
        if failure.garbage:
            return Reply(b"<html>502 Bad Gateway</html>", 200, {"Content-Type": "text/html"})
        body = failure.body
        if not isinstance(body, bytes | str):
            body = json.dumps(body, separators=(",", ":"))
        return Reply(body, failure.status, dict(failure.headers), delay=failure.hang)

    def bad_request(self) -> Reply:
        """The answer to a body that does not parse (each API words it its own way)."""
        return json_reply({"message": "Problems parsing JSON"}, 400)

    def _handled(self, request: Request) -> Reply:
        with self.state_lock:
            try:
                return self.handle(request)
            except ValueError:
                return self.bad_request()

    def _take(self, request: Request) -> Failure | None:
        with self.state_lock:
            for entry in self._failures:
                if (
                    entry.left
                    and entry.method in ("*", request.method)
                    and entry.path.fullmatch(request.path)
                ):
                    entry.left -= 1
                    return entry.failure
        return None
