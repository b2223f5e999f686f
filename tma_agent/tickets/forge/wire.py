"""Reading a forge's answers as hostile input (every shape checked, every surprise a
`TicketUnavailable` naming the backend and the URL), its offset pages, and the two markers the
agent writes on a GitLab or GitHub issue: the fingerprint label and the delivery comment."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from tma_agent.tickets._backend import BackendContext
from tma_agent.tickets._types import TicketDraft, TicketUnavailable
from tma_agent.tickets.http import TicketAnswer, TicketHTTP

__all__ = [
    "DELIVERY_PREFIX",
    "MAX_PAGES",
    "Get",
    "Pages",
    "client",
    "delivered_in",
    "delivery_comment",
    "draft_labels",
    "fingerprint_label",
    "integer",
    "issue_labels",
    "obj",
    "objects",
    "pages",
    "text",
]

#: The hidden marker a note carries so `delivered` can find it (HTML comments do not render).
DELIVERY_PREFIX = "<!-- tma-delivery: "
#: A list is read at most this many pages: a server that always says "next" cannot loop us.
MAX_PAGES = 50
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

#: One GET of a list page: a path or a same-server link, and its query (None for a link).
Get = Callable[[str, Mapping[str, Any] | None], TicketAnswer]
Pages = Iterator[tuple[TicketAnswer, list[dict[str, Any]]]]


def client(
    name: str,
    base_url: str,
    headers: Mapping[str, str],
    context: BackendContext,
    transport: Any = None,
) -> TicketHTTP:
    """The backend's HTTP client: its auth headers, the run's timeout and retries (`transport`:
    a test's)."""
    return TicketHTTP(
        name,
        base_url,
        headers=headers,
        timeout=context.http.timeout,
        retries=context.http.retries,
        transport=transport,
    )


def fingerprint_label(fingerprint: str) -> str:
    """`tma-fp:` and 16 hex digits of the fingerprint's SHA-256: short (23 characters, under
    GitHub's 50), stable, label-safe."""
    return "tma-fp:" + hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def delivery_comment(delivery_id: str) -> str:
    return f"{DELIVERY_PREFIX}{delivery_id} -->"


def draft_labels(settings_labels: Sequence[str], draft: TicketDraft, max_length: int) -> list[str]:
    """The labels an issue gets: the settings', the draft's, the fingerprint's; a comma would
    split one in the forges' comma-separated `labels` parameters, a long one is cut."""
    labels = [*settings_labels, *draft.labels, fingerprint_label(draft.fingerprint)]
    cleaned = (" ".join(label.replace(",", " ").split())[:max_length].strip() for label in labels)
    return list(dict.fromkeys(label for label in cleaned if label))


def issue_labels(item: Mapping[str, Any]) -> list[str]:
    """An issue's label names (GitLab's `with_labels_details` and GitHub answer objects,
    GitLab's default answers names)."""
    labels = item.get("labels")
    if not isinstance(labels, list):
        return []
    names = (label.get("name") if isinstance(label, dict) else label for label in labels)
    return [name for name in names if isinstance(name, str)]


def obj(answer: TicketAnswer) -> dict[str, Any]:
    value = answer.json()
    if not isinstance(value, dict):
        raise TicketUnavailable(answer.backend, answer.url, "unexpected answer (not an object)")
    return value


def objects(answer: TicketAnswer, key: str | None = None) -> list[dict[str, Any]]:
    """A list of objects (`key`: the list inside an object, as GitHub's search answers)."""
    value = answer.json()
    if key is not None:
        value = value.get(key) if isinstance(value, dict) else None
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
    http: TicketHTTP,
    path: str,
    params: Mapping[str, Any],
    *,
    key: str | None = None,
    get: Get | None = None,
    next_page_header: bool = False,
) -> Pages:
    """Every page of a list, following `X-Next-Page` (GitLab, when `next_page_header`) or
    `Link: rel="next"` on the same server only (a link elsewhere would carry our token to
    another host). `get` sends each GET (GitHub's reads rate limits into it)."""
    fetch = get or (lambda where, query: http.get(where, params=query))
    answer = fetch(path, params)
    for _ in range(MAX_PAGES):
        yield answer, objects(answer, key)
        next_page = answer.headers.get("x-next-page", "").strip() if next_page_header else ""
        if next_page.isdigit():
            answer = fetch(path, {**params, "page": int(next_page)})
            continue
        match = _LINK_NEXT.search(answer.headers.get("link", ""))
        if not match:
            return
        link = match.group(1)
        if not link.startswith(http.base_url + "/"):
            raise TicketUnavailable(
                http.backend, answer.url, "next page link points to another server"
            )
        answer = fetch(link, None)
    raise TicketUnavailable(http.backend, answer.url, f"more than {MAX_PAGES} pages")


def delivered_in(
    found: Iterable[tuple[TicketAnswer, list[dict[str, Any]]]], delivery_id: str
) -> bool:
    """Whether a note or comment of these pages carries the delivery comment of `delivery_id`."""
    comment = delivery_comment(delivery_id)
    return any(comment in text(item, "body") for _answer, items in found for item in items)
