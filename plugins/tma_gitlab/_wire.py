"""Reading GitLab's answers as hostile input: every shape is checked, every surprise is a
`TicketUnavailable` naming the backend and the URL (a garbled answer may be fine next run)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from tma_agent.tickets import TicketUnavailable
from tma_agent.tickets.http import TicketAnswer, TicketHTTP

__all__ = [
    "DELIVERY_PREFIX",
    "MAX_PAGES",
    "NAME",
    "delivery_comment",
    "duration",
    "fingerprint_label",
    "integer",
    "obj",
    "objects",
    "pages",
    "text",
]

NAME = "gitlab"
#: The hidden marker a note carries so `delivered` can find it (HTML comments do not render).
DELIVERY_PREFIX = "<!-- tma-delivery: "
#: A list is read at most this many pages: a server that always says "next" cannot loop us.
MAX_PAGES = 50
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def fingerprint_label(fingerprint: str) -> str:
    """`tma-fp:` and 16 hex digits of the fingerprint's SHA-256: short, stable, label-safe."""
    return "tma-fp:" + hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def delivery_comment(delivery_id: str) -> str:
    return f"{DELIVERY_PREFIX}{delivery_id} -->"


def duration(minutes: int) -> str:
    # Hours and minutes only: GitLab counts a day as 8 h, so `1d` would not mean 24 h.
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")


def obj(answer: TicketAnswer) -> dict[str, Any]:
    value = answer.json()
    if not isinstance(value, dict):
        raise TicketUnavailable(answer.backend, answer.url, "unexpected answer (not an object)")
    return value


def objects(answer: TicketAnswer) -> list[dict[str, Any]]:
    value = answer.json()
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TicketUnavailable(answer.backend, answer.url, "unexpected answer (not a list)")
    return value


def integer(answer: TicketAnswer, data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TicketUnavailable(answer.backend, answer.url, f"unexpected answer (no {key!r})")
    return value


def text(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


def pages(
    http: TicketHTTP, path: str, params: Mapping[str, Any]
) -> Iterator[tuple[TicketAnswer, list[dict[str, Any]]]]:
    """Every page of a list, following `X-Next-Page` (or `Link: rel="next"` on the same
    server: a link elsewhere would carry our token to another host)."""
    answer = http.get(path, params=params)
    for _ in range(MAX_PAGES):
        yield answer, objects(answer)
        next_page = answer.headers.get("x-next-page", "").strip()
        if next_page.isdigit():
            answer = http.get(path, params={**params, "page": int(next_page)})
            continue
        match = _LINK_NEXT.search(answer.headers.get("link", ""))
        if not match:
            return
        link = match.group(1)
        if not link.startswith(http.base_url + "/"):
            raise TicketUnavailable(NAME, answer.url, "next page link points to another server")
        answer = http.get(link)
    raise TicketUnavailable(NAME, answer.url, f"more than {MAX_PAGES} pages")
