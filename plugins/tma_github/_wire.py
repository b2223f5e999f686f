"""Talking to GitHub's REST API defensively: rate limits (a 403 or 429 that says "later") are
`TicketUnavailable`, other 403s `TicketRefused`; every answer's shape is checked; pages follow
`Link: rel="next"` on the same server only (the token must never go elsewhere)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from tma_agent._masking import mask
from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_agent.tickets.http import TicketAnswer, TicketHTTP

__all__ = [
    "MAX_PAGES",
    "NAME",
    "call",
    "delivery_comment",
    "fingerprint_label",
    "number",
    "obj",
    "objects",
    "pages",
    "text",
]

NAME = "github"
#: The hidden marker a comment carries so `delivered` can find it (HTML comments do not render).
_DELIVERY_PREFIX = "<!-- tma-delivery: "
MAX_PAGES = 50
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def fingerprint_label(fingerprint: str) -> str:
    """`tma-fp:` and 16 hex digits of the fingerprint's SHA-256 (23 characters, under 50)."""
    return "tma-fp:" + hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def delivery_comment(delivery_id: str) -> str:
    return f"{_DELIVERY_PREFIX}{delivery_id} -->"


def call(
    http: TicketHTTP,
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    expect: tuple[int, ...] = (),
) -> TicketAnswer:
    answer = http.request(method, path, params=params, json=json, expect=(403, *expect))
    if answer.status != 403 or 403 in expect:
        return answer
    excerpt = " ".join(answer.body[:300].decode("utf-8", "replace").split())
    if _rate_limited(answer, excerpt):
        wait = answer.headers.get("retry-after") or answer.headers.get("x-ratelimit-reset")
        raise TicketUnavailable(
            NAME, answer.url, f"HTTP 403 rate limit exceeded (retry after {wait or 'a while'})"
        )
    raise TicketRefused(
        NAME,
        answer.url,
        f"HTTP 403: {mask(excerpt)} (check the token's permissions on the repository)",
        status=403,
    )


def _rate_limited(answer: TicketAnswer, excerpt: str) -> bool:
    headers = answer.headers
    return (
        headers.get("x-ratelimit-remaining") == "0"
        or "retry-after" in headers
        or "rate limit" in excerpt.lower()
    )


def obj(answer: TicketAnswer) -> dict[str, Any]:
    value = answer.json()
    if not isinstance(value, dict):
        raise TicketUnavailable(NAME, answer.url, "unexpected answer (not an object)")
    return value


def objects(answer: TicketAnswer, key: str | None = None) -> list[dict[str, Any]]:
    value = answer.json()
    if key is not None:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TicketUnavailable(NAME, answer.url, "unexpected answer (not a list)")
    return value


def number(answer: TicketAnswer, data: Mapping[str, Any]) -> int:
    value = data.get("number")
    if not isinstance(value, int) or isinstance(value, bool):
        raise TicketUnavailable(NAME, answer.url, "unexpected answer (no 'number')")
    return value


def text(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


def pages(
    http: TicketHTTP, path: str, params: Mapping[str, Any], key: str | None = None
) -> Iterator[tuple[TicketAnswer, list[dict[str, Any]]]]:
    """Every page of a list (`key`: the list inside an object, as the search answers)."""
    answer = call(http, "GET", path, params=params)
    for _ in range(MAX_PAGES):
        yield answer, objects(answer, key)
        match = _LINK_NEXT.search(answer.headers.get("link", ""))
        if not match:
            return
        link = match.group(1)
        if not link.startswith(http.base_url + "/"):
            raise TicketUnavailable(NAME, answer.url, "next page link points to another server")
        answer = call(http, "GET", link)
    raise TicketUnavailable(NAME, answer.url, f"more than {MAX_PAGES} pages")
