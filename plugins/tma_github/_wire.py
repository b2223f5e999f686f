"""Talking to GitHub's REST API defensively: rate limits (a 403 or 429 that says "later") are
`TicketUnavailable`, other 403s `TicketRefused`; answers are read by the forges' shared code
(`tma_agent.tickets.forge.wire`); pages follow `Link: rel="next"` on the same
server only (the token must never go elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tma_agent._masking import mask
from tma_agent.tickets import TicketRefused, TicketUnavailable
from tma_agent.tickets.forge import wire
from tma_agent.tickets.forge.wire import Pages, integer
from tma_agent.tickets.http import TicketAnswer, TicketHTTP

__all__ = ["NAME", "call", "number", "pages"]

NAME = "github"


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


def number(answer: TicketAnswer, data: Mapping[str, Any]) -> int:
    return integer(answer, data, "number")


def pages(http: TicketHTTP, path: str, params: Mapping[str, Any], key: str | None = None) -> Pages:
    """Every page of a list (`key`: the list inside an object, as the search answers), each
    read through `call` (rate limits)."""

    def get(where: str, query: Mapping[str, Any] | None) -> TicketAnswer:
        return call(http, "GET", where, params=query)

    return wire.pages(http, path, params, key=key, get=get)
