"""The ticket systems' HTTP client: JSON in and out, one deadline per request, bounded answers,
and every answer sorted into done, `TicketUnavailable` (retry later) or `TicketRefused` (parked).

Only reads are retried here (a GET cannot duplicate anything); a write that fails is the
outbox's business, which searches by fingerprint before sending a create again. Tests swap
`transport` for a local server's or an `httpx.MockTransport` speaking a documented wire format.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tma_agent import __version__
from tma_agent._json import JSONError, parse_json
from tma_agent._masking import mask
from tma_agent.sources._deadline import install_deadlines, request_deadline
from tma_agent.tickets._types import TicketRefused, TicketUnavailable

__all__ = ["MAX_ANSWER_BYTES", "TicketAnswer", "TicketHTTP"]

#: A ticket API answer bigger than this is refused unread (a page of issues is far smaller).
MAX_ANSWER_BYTES = 8 * 1024 * 1024
#: Statuses that say "the request may work later": everything else in 4xx is permanent.
_TRANSIENT = frozenset({408, 409, 423, 425, 429})
_EXCERPT = 300


@dataclass(frozen=True)
class TicketAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    backend: str

    def json(self) -> Any:
        """The parsed body; an unreadable one is a lost answer (`TicketUnavailable`)."""
        try:
            return parse_json(self.body) if self.body else None
        except JSONError as exc:
            raise TicketUnavailable(self.backend, self.url, f"not JSON ({exc})") from None


class TicketHTTP:
    """One ticket system's API. `backend` names it in every error, with the URL."""

    def __init__(
        self,
        backend: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"tma-agent/{__version__}", **(headers or {})},
            follow_redirects=False,
        )
        install_deadlines(self._client)

    def close(self) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, expect: Collection[int] = ()
    ) -> TicketAnswer:
        return self.request("GET", path, params=params, expect=expect)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (),
    ) -> TicketAnswer:
        """Send once (a GET up to `retries` times on a transient failure, inside the one
        deadline); 2xx and the statuses in `expect` are returned, anything else raised."""
        url = self.url(path)
        tries = self.retries if method == "GET" else 1
        started = time.monotonic()
        for attempt in range(1, tries + 1):
            left = self.timeout - (time.monotonic() - started)
            try:
                answer = self._send(method, url, params, json, content, headers, left)
                return self._judge(answer, expect)
            except TicketUnavailable:
                wait = 0.2 * 2**attempt
                # The wait counts against the one deadline: never sleep past it.
                if attempt == tries or time.monotonic() - started + wait >= self.timeout:
                    raise
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        left: float,
    ) -> TicketAnswer:
        shown = _without_query(url)
        try:
            with request_deadline(max(left, 0.01)):
                # httpx 0.28 drops a URL's own query when `params` is given (a next-page
                # link, a `?key=` in the configured URL): merge them instead.
                target = httpx.URL(url).copy_merge_params(params) if params else url
                request = self._client.build_request(
                    method, target, json=json, content=content, headers=headers
                )
                with self._client.stream(
                    request.method, request.url, content=request.content, headers=request.headers
                ) as response:
                    body = _read_bounded(response, shown, self.backend)
                    return TicketAnswer(
                        response.status_code, response.headers, body, shown, self.backend
                    )
        except httpx.TimeoutException:
            raise TicketUnavailable(
                self.backend, shown, f"no answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise TicketUnavailable(self.backend, shown, _one_line(exc)) from None
        except httpx.InvalidURL as exc:
            # Not an HTTPError: it would escape as a traceback. No later try can fix it.
            raise TicketRefused(self.backend, shown, f"invalid URL ({_one_line(exc)})") from None

    def _judge(self, answer: TicketAnswer, expect: Collection[int]) -> TicketAnswer:
        status = answer.status
        if 200 <= status < 300 or status in expect:
            return answer
        reason = f"HTTP {status}{_excerpt(answer.body)}"
        if status >= 500 or status in _TRANSIENT:
            raise TicketUnavailable(self.backend, answer.url, reason)
        if status in (401, 403):
            reason += " (check the credentials in the tickets block)"
        raise TicketRefused(self.backend, answer.url, reason, status=status)


def _read_bounded(response: httpx.Response, url: str, backend: str) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise TicketUnavailable(backend, url, f"answer of {declared} bytes is too large")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise TicketUnavailable(backend, url, f"answer over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _without_query(url: str) -> str:
    # Query strings may carry tokens (and are long): messages name the endpoint.
    return url.split("?", 1)[0]


def _excerpt(body: bytes) -> str:
    text = " ".join(body[:_EXCERPT].decode("utf-8", "replace").split())
    return f": {mask(text)}" if text else ""


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return mask(text)
