"""What flows between the core and a ticket backend: drafts, remote tickets, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tma_agent._masking import mask
from tma_agent.errors import TmaError

__all__ = [
    "MARKER_PREFIX",
    "Meaning",
    "Priority",
    "RemoteTicket",
    "TicketDraft",
    "TicketError",
    "TicketFile",
    "TicketRefused",
    "TicketUnavailable",
    "marker_line",
]

#: Work priority, from the most urgent finding (tma_agent.tickets.plan); backends map it.
Priority = Literal["low", "normal", "high", "urgent"]
#: What a ticket's status means to the agent, through `tickets.statuses`.
Meaning = Literal["open", "validated", "rejected", "closed"]

#: The description's marker line holds the fingerprint: a second way to find a ticket when a
#: backend's own field (custom field, label) is missing or does not filter.
MARKER_PREFIX = "tma-fingerprint:"


def marker_line(fingerprint: str) -> str:
    return f"{MARKER_PREFIX} {fingerprint}"


@dataclass(frozen=True)
class TicketDraft:
    """Everything a backend needs to create or update the ticket of one request."""

    fingerprint: str
    title: str
    #: Markdown, ending with the marker line (`marker_line`); backends convert it if needed.
    description: str
    site: str
    client: str
    #: `preventive`, `corrective` or `evolutive`.
    kind: str
    priority: Priority
    #: Integer minutes, 60..2400 (1-40 h).
    estimate_minutes: int
    #: Labels the agent sets (`tma`, the kind, `security` when it is one); backends add the
    #: fingerprint label where that is how they find tickets.
    labels: tuple[str, ...] = ()
    #: The ticket of the closed or rejected request this one follows, if any.
    previous_ref: str | None = None


@dataclass(frozen=True)
class TicketFile:
    """A file the agent adds to a ticket (a visual check's before/after/changes images).

    Read from the agent's state directory at send time, never from the ticket system or a
    site; `filename` is a plain base name (no folder), `url` the dashboard's link to the same
    file when `web.base_url` is set (what a system that keeps no files, GitHub, shows)."""

    filename: str
    media_type: str
    content: bytes
    label: str = ""
    url: str | None = None


@dataclass(frozen=True)
class RemoteTicket:
    """A ticket as the ticket system shows it now."""

    #: The backend's reference (Redmine issue id, GitLab iid, Jira key, GitHub number).
    ref: str
    #: The status name as the ticket system says it (`New`, `Validated`, `opened`, `Done`).
    status: str
    url: str | None = None
    #: Who last changed the status, when the ticket system tells (for validations).
    changed_by: str | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)


class TicketError(TmaError):
    """A ticket system answered badly. The message names the backend and the URL."""

    def __init__(self, backend: str, url: str, reason: str) -> None:
        super().__init__(f"{backend} {url}: {reason}")
        self.backend = backend
        self.url = mask(url)
        self.reason = mask(reason)


class TicketUnavailable(TicketError):
    """Down, slow, 5xx, 429 or an answer that was lost or garbled: the write stays queued and
    the next run sends it (after searching by fingerprint when it was a create)."""


class TicketRefused(TicketError):
    """A permanent refusal (401/403/404/422, a project that does not exist): the write is
    parked with the answer and re-sent only by `tma requests retry`."""

    def __init__(self, backend: str, url: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(backend, url, reason)
        self.status = status
