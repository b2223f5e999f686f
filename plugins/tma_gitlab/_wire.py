"""What GitLab's answers need beyond the forges' shared reading (`tma_agent.tickets.forge.wire`,
re-exported here): its name, its durations, and its `X-Next-Page` paging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tma_agent.tickets.forge import wire
from tma_agent.tickets.forge.wire import (
    DELIVERY_PREFIX,
    MAX_PAGES,
    Pages,
    delivered_in,
    delivery_comment,
    draft_labels,
    fingerprint_label,
    integer,
    issue_labels,
    obj,
    objects,
    text,
)
from tma_agent.tickets.http import TicketHTTP

__all__ = [
    "DELIVERY_PREFIX",
    "MAX_PAGES",
    "NAME",
    "delivered_in",
    "delivery_comment",
    "draft_labels",
    "duration",
    "fingerprint_label",
    "integer",
    "issue_labels",
    "obj",
    "objects",
    "pages",
    "text",
]

NAME = "gitlab"


def duration(minutes: int) -> str:
    # Hours and minutes only: GitLab counts a day as 8 h, so `1d` would not mean 24 h.
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")


def pages(http: TicketHTTP, path: str, params: Mapping[str, Any]) -> Pages:
    """Every page of a list, following `X-Next-Page` (or `Link: rel="next"` on the same
    server: a link elsewhere would carry our token to another host)."""
    return wire.pages(http, path, params, next_page_header=True)
