"""Time entries: what the core sends to a ticket system that keeps time (`BackendInfo.
tracks_time`), and what such a system shows back for `tma time reconcile`.

The delivery id of the create (`time_create:<intervention>:<revision>`) is written in the
entry's comment: a create whose answer was lost is found by it (`find_time`) before it is sent
again, and reconcile recognises the agent's entries by it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tma_agent.tickets._types import TicketRefused

__all__ = [
    "TIME_DELIVERY_PREFIX",
    "NoTicketToLogOn",
    "RemoteTimeEntry",
    "TimeEntry",
    "TimeKeeper",
    "intervention_of",
    "time_comment",
]

#: The comment's last part, `tma-time: time_create:42:0`.
TIME_DELIVERY_PREFIX = "tma-time:"
_DELIVERY = re.compile(r"tma-time:\s*time_(?:create|update):(\d+):\d+")


class NoTicketToLogOn(TicketRefused):
    """`log_time(None, ...)` of a backend that logs time only on a ticket: the item is marked
    done with "no ticket to log on" (never parked: no retry could change that)."""


@dataclass(frozen=True)
class TimeEntry:
    """One intervention's time entry."""

    intervention_id: int
    #: Billed minutes, > 0 (an intervention billed 0 is not sent; an existing entry is deleted).
    minutes: int
    spent_on: dt.date
    #: The intervention's description; the backend appends `time_comment`'s delivery line.
    comment: str
    #: The intervention's kind (`preventive`, `corrective`, `evolutive`): the backend maps it
    #: to its own activity through its settings (Redmine `activities`).
    activity: str
    #: Who did it (`agent` or a developer's name): mapped through the backend's `users`.
    user: str
    client: str
    site: str


@dataclass(frozen=True)
class RemoteTimeEntry:
    """A time entry as the ticket system shows it. For a system that only exposes totals per
    ticket (GitLab), one entry per ticket with `ref=None` and the ticket's total."""

    ref: str | None
    minutes: int
    ticket_ref: str | None
    spent_on: dt.date | None = None
    #: The intervention named by the comment's delivery line, when there is one.
    intervention_id: int | None = None
    comment: str = ""


def time_comment(text: str, delivery_id: str, limit: int) -> str:
    """`text` cut to fit `limit` characters with the delivery line kept whole at the end."""
    line = f"{TIME_DELIVERY_PREFIX} {delivery_id}"
    room = limit - len(line) - 3
    body = " ".join(text.split())
    if len(body) > room:
        body = body[: max(room - 1, 0)].rstrip() + "…"
    return f"{body} — {line}" if body else line


def intervention_of(comment: str | None) -> int | None:
    found = _DELIVERY.search(comment or "")
    return int(found.group(1)) if found else None


class TimeKeeper(Protocol):
    """The methods of a backend with `tracks_time=True`. Errors as in `TicketBackend`:
    `TicketUnavailable` (stays queued) or `TicketRefused` (parked)."""

    name: str

    def log_time(self, ref: str | None, entry: TimeEntry, delivery_id: str) -> str:
        """Create the entry on ticket `ref` (None: the intervention has no request; a backend
        that can only log on a ticket refuses); return the ticket system's entry id."""

    def update_time(self, entry_ref: str, entry: TimeEntry, delivery_id: str) -> str:
        """Bring the entry to `entry`; return its id (a backend that cannot edit in place
        logs a correction and returns the new id)."""

    def delete_time(self, entry_ref: str, delivery_id: str) -> None:
        """Remove the entry; one already gone is not an error."""

    def find_time(
        self, delivery_id: str, ref: str | None, *, spent_on: dt.date | None = None
    ) -> str | None:
        """The entry whose comment carries `delivery_id` (a create whose answer was lost)."""

    def time_entries(
        self, month: str, *, refs: Sequence[str] = (), scopes: Sequence[tuple[str, str]] = ()
    ) -> list[RemoteTimeEntry]:
        """Entries of `month` (YYYY-MM) on tickets `refs`, and, for a backend that logs time
        on a project, every entry of the projects of these (client, site) pairs."""
