"""Sending one request: size cap while streaming, retries with backoff on transient failures."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import structlog
import tenacity

from tma_agent.errors import FeedError
from tma_agent.sources._cache import Spool
from tma_agent.sources._deadline import remaining, request_deadline
from tma_agent.sources._result import FetchResult

__all__ = ["FormData", "Wire", "WirePolicy", "form_pairs"]

#: A form or query: a mapping, or a sequence of pairs when a key repeats (`packages[]=a&...`).
FormData = Mapping[str, str] | Sequence[tuple[str, str]]


def form_pairs(data: FormData) -> list[tuple[str, str]]:
    """The (key, value) pairs of a form, in the order they are sent."""
    return list(data.items()) if isinstance(data, Mapping) else list(data)


_log = structlog.get_logger()


@dataclass(frozen=True)
class WirePolicy:
    #: Seconds for the whole request: every try, every read and the waits between tries.
    timeout: float
    max_bytes: int
    #: Tries in total, the first one included.
    retries: int
    backoff: float
    #: A server asking for a longer pause than this gets this: a run must not stall on it.
    max_retry_after: float


class _Transient(Exception):
    """A failure worth another try; carries the answer (if any) to give back when tries run out."""

    def __init__(
        self,
        reason: str,
        response: FetchResult | None = None,
        retry_after: float | None = None,
        *,
        timed_out: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response
        self.retry_after = retry_after
        self.timed_out = timed_out


class Wire:
    def __init__(self, client: httpx.Client, policy: WirePolicy) -> None:
        self._client = client
        self.policy = policy

    def send(
        self,
        method: str,
        url: str,
        *,
        data: FormData | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        spool: Spool | None = None,
    ) -> FetchResult:
        """Send with retries; 429/5xx answers that outlast them come back with `tries` set.
        `data` is sent as a form, `content` as a raw body (its Content-Type in `headers`);
        `max_bytes` overrides the policy's size cap for this request; `spool` receives
        the body of the last try as it arrives (the caller commits or discards it).

        The policy's `timeout` is one deadline for the whole request, retries included: a
        retry starts only if its wait ends before the deadline, and it gets what is left."""
        tries = 0

        def attempt() -> FetchResult:
            nonlocal tries
            tries += 1
            _log.debug("http.fetch", method=method, url=url, attempt=tries)
            if spool is not None:
                spool.restart()
            return self._attempt(method, url, data, content, headers, max_bytes, spool)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.policy.retries)) | _DeadlineSpent(),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Transient),
            before_sleep=lambda state: _log_retry(url, state),
            sleep=time.sleep,
            reraise=True,
        )
        try:
            with request_deadline(self.policy.timeout):
                result = retrying(attempt)
        except _Transient as exc:
            if exc.response is not None:
                return replace(exc.response, tries=tries)
            if exc.timed_out:
                tried = f" ({_plural(tries)})" if tries > 1 else ""
                raise FeedError(url, f"{exc.reason}{tried}") from None
            raise FeedError(url, f"{exc.reason} after {_plural(tries)}") from None
        return replace(result, tries=tries) if tries > 1 else result

    def _wait(self, state: tenacity.RetryCallState) -> float:
        delay = self.policy.backoff * 2 ** (state.attempt_number - 1)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.policy.max_retry_after))
        return delay

    def _attempt(
        self,
        method: str,
        url: str,
        data: FormData | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        max_bytes: int | None,
        spool: Spool | None,
    ) -> FetchResult:
        cap = max_bytes or self.policy.max_bytes
        form, content, headers = _encode_form(data, content, headers)
        try:
            with self._client.stream(
                method, url, data=form, content=content, headers=headers
            ) as response:
                declared = response.headers.get("content-length", "")
                # Refuse before reading a byte when the server admits the size up front.
                if declared.isdigit() and int(declared) > cap:
                    raise FeedError(url, f"response larger than {cap} bytes")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > cap:
                        raise FeedError(url, f"response larger than {cap} bytes")
                    if spool is not None:
                        spool.write(chunk)
                status, answer_headers = response.status_code, dict(response.headers)
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {self.policy.timeout:g}s", timed_out=True) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise FeedError(url, f"request failed ({exc})") from None
        result = FetchResult(url, status, bytes(body), answer_headers)
        if status == 429 or status >= 500:
            retry_after = _retry_after(answer_headers.get("retry-after"))
            raise _Transient(f"HTTP {status}", response=result, retry_after=retry_after)
        return result


def _encode_form(
    data: FormData | None, content: bytes | None, headers: Mapping[str, str] | None
) -> tuple[dict[str, str] | None, bytes | None, Mapping[str, str] | None]:
    """What to hand httpx: a mapping as its form; pairs encoded here, because httpx would
    group a repeated key's values and the pairs must go in the order given."""
    if data is None or isinstance(data, Mapping):
        return (dict(data) if data is not None else None), content, headers
    form_headers = {**(headers or {}), "Content-Type": "application/x-www-form-urlencoded"}
    return None, urlencode(list(data)).encode(), form_headers


class _DeadlineSpent(tenacity.stop.stop_base):
    """Stop when the wait before the next try would reach the request's deadline."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        left = remaining()
        return left is not None and left <= retry_state.upcoming_sleep


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait per a Retry-After header (delta-seconds or HTTP-date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _log_retry(url: str, state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    reason = exc.reason if isinstance(exc, _Transient) else repr(exc)
    wait = state.next_action.sleep if state.next_action else None
    _log.debug("http.retry", url=url, reason=reason, attempt=state.attempt_number, wait=wait)


def _plural(tries: int) -> str:
    return "1 try" if tries == 1 else f"{tries} tries"
