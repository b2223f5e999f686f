"""The one HTTP client of a run: each request is sent at most once, whichever site needs it."""

from __future__ import annotations

import functools
import hashlib
import json
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx
import structlog

from tma_agent import __version__
from tma_agent.errors import FeedError
from tma_agent.sources._cache import DiskCache
from tma_agent.sources._deadline import install_deadlines
from tma_agent.sources._result import FetchResult
from tma_agent.sources._wire import FormData, Wire, WirePolicy, form_pairs

if TYPE_CHECKING:
    from tma_agent.config import Config

__all__ = ["FetchResult", "Fetcher"]

_log = structlog.get_logger()


class Fetcher:
    """Shared by every site of a run (thread-safe). Concurrent asks for one request wait for
    the first; answers (failures included) are kept for the run, so a feed is fetched once
    however many sites use it, and a broken server is not hammered once per site.

    `timeout` is one deadline per request (connect, every read, every retry and wait);
    `retries` counts tries in total; waits grow as `backoff * 2**n`, or follow Retry-After
    up to `max_retry_after`. With `cache_dir`, GET answers carrying an ETag or Last-Modified
    are kept on disk and revalidated by the next run."""

    @classmethod
    def from_config(cls, config: Config, cache_dir: Path | None = None) -> Fetcher:
        """The run's Fetcher with the `http:` settings of the configuration."""
        return cls(cache_dir=cache_dir, timeout=config.http.timeout, retries=config.http.retries)

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        timeout: float = 30.0,
        max_bytes: int = 32 * 1024 * 1024,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_after: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            verify=_ssl_context(),
            follow_redirects=True,
            headers={"User-Agent": f"tma-agent/{__version__}"},
        )
        install_deadlines(self._client)
        policy = WirePolicy(timeout, max_bytes, retries, backoff, max_retry_after)
        self._wire = Wire(self._client, policy)
        self._cache = DiskCache(cache_dir) if cache_dir is not None else None
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}
        self._answers: dict[str, FetchResult | FeedError] = {}
        #: Requests really sent, keyed like the memo (method, URL, body, auth-header hash);
        #: one per key per run, however many tries the wire needed.
        self.sent: Counter[str] = Counter()
        #: GETs answered 304 Not Modified and served from the disk cache, same keys.
        self.revalidated: Counter[str] = Counter()

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
        params: FormData | None = None,
        ok_statuses: Collection[int] = frozenset(),
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET once per run. `max_bytes` raises the size cap for a feed known to be large."""
        full = f"{url}?{urlencode(form_pairs(params))}" if params else url
        key = "GET " + full + _auth_tag(headers)
        return self._once(key, full, lambda: self._get(key, full, headers, max_bytes), ok_statuses)

    def answered(self, url: str, *, headers: Mapping[str, str] | None = None) -> bool:
        """Whether a GET of `url` has its answer this run, so `get` would send nothing: callers
        need no thread of their own to wait for it."""
        return ("GET " + url + _auth_tag(headers)) in self._answers

    def post_form(
        self,
        url: str,
        data: FormData,
        *,
        ok_statuses: Collection[int] = frozenset(),
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        # A mapping's order carries no meaning (one key per form); a sequence's may.
        pairs = form_pairs(data)
        body = urlencode(sorted(pairs) if isinstance(data, Mapping) else pairs)
        key = f"POST {url} {body}" + _auth_tag(headers)
        send = functools.partial(self._wire.send, "POST", url, data=data, headers=headers)
        return self._once(key, url, send, ok_statuses)

    def post_json(
        self,
        url: str,
        payload: object,
        *,
        ok_statuses: Collection[int] = frozenset(),
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """POST `payload` as a JSON body, memoized by body like `post_form`: keys are dumped
        sorted, so equal payloads built in any order are one request per run."""
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        # A digest, not the body: a bulk query can be large and memo keys end up in logs.
        key = f"POST {url} json:{hashlib.sha256(body).hexdigest()}" + _auth_tag(headers)
        send_headers = {"Content-Type": "application/json", **(headers or {})}
        send = functools.partial(self._wire.send, "POST", url, content=body, headers=send_headers)
        return self._once(key, url, send, ok_statuses)

    def _once(
        self,
        key: str,
        url: str,
        send: Callable[[], FetchResult],
        ok_statuses: Collection[int],
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
            else:
                # The URL, not the key: a POST key holds the form, which may carry secrets.
                _log.debug("http.memo_hit", url=url)
        if isinstance(answer, FeedError):
            # A fresh error per caller: threads re-raising one object would share (and
            # keep growing) its traceback.
            raise FeedError(answer.url, answer.reason)
        if not (200 <= answer.status < 300) and answer.status not in ok_statuses:
            after = f" after {answer.tries} tries" if answer.tries > 1 else ""
            raise FeedError(answer.url, f"HTTP {answer.status}{after}")
        return answer

    def _get(
        self, key: str, url: str, headers: Mapping[str, str] | None, max_bytes: int | None
    ) -> FetchResult:
        entry = self._cache.load(key) if self._cache else None
        send_headers = dict(headers or {})
        if entry is not None:
            send_headers.update(entry.conditional_headers())
        if self._cache is None:
            return self._wire.send("GET", url, headers=send_headers, max_bytes=max_bytes)
        spool = self._cache.spool(key)
        try:
            result = self._wire.send(
                "GET", url, headers=send_headers, max_bytes=max_bytes, spool=spool
            )
            if spool is not None and 200 <= result.status < 300 and _validators(result.headers):
                spool.commit(result.status, result.headers)
                _log.debug("http.cache_stored", url=url)
        finally:
            if spool is not None:
                spool.discard()  # after a commit: nothing left to remove
        if result.status == 304 and entry is not None:
            self.revalidated[key] += 1
            _log.debug("http.revalidated", url=url)
            merged = {**entry.headers, **_validators(result.headers)}
            if merged != dict(entry.headers):
                self._cache.store(key, entry.status, entry.body, merged)
            return FetchResult(url, entry.status, entry.body, merged, result.tries, True)
        return result


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.1 s; one context per process serves every Fetcher.
    return httpx.create_ssl_context()


def _validators(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    return {k: lowered[k] for k in ("etag", "last-modified") if lowered.get(k)}


def _auth_tag(headers: Mapping[str, str] | None) -> str:
    """A memo/cache key suffix that tells requests with different auth apart without
    revealing it: a hash, never the values (keys end up in logs and file names)."""
    if not headers:
        return ""
    canonical = json.dumps(sorted((k.lower(), v) for k, v in headers.items()))
    return " [headers " + hashlib.sha256(canonical.encode()).hexdigest()[:16] + "]"
