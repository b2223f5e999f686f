"""What GitLab's answers need beyond the forges' shared reading (`tma_agent.tickets.forge.wire`):
its name, its durations, and its `X-Next-Page` paging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tma_agent.tickets.forge import wire
from tma_agent.tickets.forge.wire import Pages
from tma_agent.tickets.http import TicketHTTP

__all__ = ["NAME", "duration", "pages"]

NAME = "gitlab"


def duration(minutes: int) -> str:
    # Hours and minutes only: GitLab counts a day as 8 h, so `1d` would not mean 24 h.
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")


def pages(http: TicketHTTP, path: str, params: Mapping[str, Any]) -> Pages:
    """Every page of a list, following `X-Next-Page` (or `Link: rel="next"` on the same
    server: a link elsewhere would carry our token to another host)."""
    return wire.pages(http, path, params, next_page_header=True)
