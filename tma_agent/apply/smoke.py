"""The HTTP smoke check behind the `http.check` step: one GET of a site's page, judged on its
status, an expected text, and the marks a broken PHP site leaves in its body.

Each request has one deadline for everything (connect, headers, every read of the body), so a
server dripping a byte a second cannot stretch it, and the body is read up to a bound, so an
endless one cannot fill the agent's memory. A check never raises for what the site answers:
it returns a `PageCheck` whose `problem` is a one-line reason naming the URL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tma_agent import __version__
from tma_agent.sources._deadline import install_deadlines, request_deadline

__all__ = ["DEFAULT_MAX_BODY_BYTES", "PageCheck", "body_problem", "check_page", "smoke_client"]

#: Enough for any real page; a body past it is a broken server, not a page to judge.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024

# PHP's display_errors output, text or HTML (`<b>Fatal error</b>:`), starts a line; Xdebug's
# table carries the error type as a class. Anchoring to a line start keeps an article that
# merely quotes "Fatal error:" mid-sentence from failing the check.
_PHP_ERROR = re.compile(
    r"(?:^|\n|<br\s*/?>)\s*(?:<b>)?(?:PHP )?"
    r"(Fatal error|Parse error|Recoverable fatal error)(?:</b>)?:\s"
    r"|class=['\"]xdebug-error xe-(fatal-error|parse-error)"
)
# wp_die()'s page from WordPress' fatal error handler (5.2+: "your website", 5.3+: "this").
# HTML may wrap the sentence anywhere.
_WP_CRITICAL = re.compile(
    r"There\s+has\s+been\s+a\s+critical\s+error\s+on\s+(?:this|your)\s+website"
)


@dataclass(frozen=True)
class PageCheck:
    url: str
    status: int | None
    elapsed_ms: int
    #: A one-line reason naming the URL when the page fails the check, else None.
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def body_problem(body: str) -> str | None:
    """What the body shows of a broken PHP site, or None."""
    match = _PHP_ERROR.search(body)
    if match:
        kind = match.group(1) or match.group(2).replace("-", " ").capitalize()
        return f"the page shows a PHP {kind.lower()}"
    if _WP_CRITICAL.search(body):
        return 'the page is WordPress\' "There has been a critical error" page'
    return None


@contextmanager
def smoke_client(*, verify: bool = True, follow_redirects: bool = False) -> Iterator[httpx.Client]:
    """A client for smoke checks, bounded by per-request deadlines. By default it follows no
    redirect: a redirect to a login or maintenance page shows as its status."""
    with httpx.Client(
        follow_redirects=follow_redirects,
        verify=verify,
        headers={"User-Agent": f"tma-agent/{__version__} (smoke check)"},
    ) as client:
        install_deadlines(client)
        yield client


def check_page(
    client: httpx.Client,
    url: str,
    *,
    timeout: float,
    expect_status: int = 200,
    expect_text: str | None = None,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> PageCheck:
    started = time.monotonic()

    def done(status: int | None, problem: str | None = None) -> PageCheck:
        elapsed = round((time.monotonic() - started) * 1000)
        return PageCheck(url, status, elapsed, f"{url}: {problem}" if problem else None)

    try:
        with (
            request_deadline(timeout),
            client.stream("GET", url, timeout=timeout) as response,
        ):
            status = response.status_code
            raw, complete = _read_bounded(response, max_bytes)
            encoding = response.encoding or "utf-8"
    except httpx.TimeoutException:
        return done(None, f"no complete answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return done(None, f"request failed: {_one_line(exc)}")
    if not complete:
        return done(status, f"body larger than {max_bytes // 1024} KiB (read stopped there)")
    body = raw.decode(encoding, errors="replace")
    # The body is judged first: a fatal error answered 200 or 500 is reported as what it is.
    problem = body_problem(body)
    if problem:
        return done(status, f"{problem} (HTTP {status})")
    if status != expect_status:
        return done(status, f"HTTP {status}, expected {expect_status}")
    if expect_text is not None and expect_text not in body:
        return done(status, f"the page lacks the expected text {expect_text!r}")
    return done(status)


def _read_bounded(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The body up to `max_bytes`, and whether it ended within that bound."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], False
    return b"".join(chunks), True


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
