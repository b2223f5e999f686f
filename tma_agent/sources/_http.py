"""The one HTTP client of a run: each request is sent at most once, whichever site needs it."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml
import httpx
from defusedxml import DefusedXmlException

from tma_agent import __version__
from tma_agent.errors import FeedError

__all__ = ["FetchResult", "Fetcher"]


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise FeedError(self.url, f"invalid JSON ({exc})") from None

    def xml(self) -> Element:
        try:
            return safe_xml.fromstring(self.content)
        except DefusedXmlException as exc:
            raise FeedError(self.url, f"refused unsafe XML ({type(exc).__name__})") from None
        except safe_xml.ParseError as exc:
            raise FeedError(self.url, f"invalid XML ({exc})") from None


class Fetcher:
    """Shared by every site of a run (thread-safe). Concurrent asks for one URL wait for the
    first; answers are kept for the run, so a feed is fetched once however many sites use it."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
            headers={"User-Agent": f"tma-agent/{__version__}"},
        )
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}
        self._answers: dict[str, FetchResult | FeedError] = {}
        #: Requests really sent, keyed like the memo (method, URL and body).
        self.sent: Counter[str] = Counter()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> FetchResult:
        full = f"{url}?{urlencode(params)}" if params else url
        return self._once("GET " + full, lambda: self._send("GET", full, None), ok_statuses)

    def post_form(
        self, url: str, data: Mapping[str, str], *, ok_statuses: frozenset[int] = frozenset()
    ) -> FetchResult:
        body = urlencode(sorted(data.items()))
        key = f"POST {url} {body}"
        return self._once(key, lambda: self._send("POST", url, dict(data)), ok_statuses)

    def _once(
        self, key: str, send: Any, ok_statuses: frozenset[int]
    ) -> FetchResult:
        with self._lock:
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            answer = self._answers.get(key)
            if answer is None:
                self.sent[key] += 1
                try:
                    answer = send()
                except FeedError as exc:
                    answer = exc
                self._answers[key] = answer
        if isinstance(answer, FeedError):
            raise answer
        if not (200 <= answer.status < 300) and answer.status not in ok_statuses:
            raise FeedError(answer.url, f"HTTP {answer.status}")
        return answer

    def _send(self, method: str, url: str, form: dict[str, str] | None) -> FetchResult:
        try:
            response = self._client.request(method, url, data=form)
        except httpx.TimeoutException:
            raise FeedError(url, "timed out") from None
        except httpx.HTTPError as exc:
            raise FeedError(url, f"request failed ({exc})") from None
        return FetchResult(url, response.status_code, response.content, dict(response.headers))
