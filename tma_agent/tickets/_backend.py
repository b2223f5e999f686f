"""The ticket backend protocol and its registration record.

A backend is a plugin: it registers a `BackendInfo` through `tma_register_ticket_backends`, and
the core builds one backend object per ticket configuration (global, or a client's override)
with `BackendInfo.factory`. The core calls only the methods below; it never names a backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tma_agent.http_settings import HTTPSettings
    from tma_agent.tickets._types import RemoteTicket, TicketDraft, TicketFile
    from tma_agent.tickets.settings import TicketSettings

__all__ = ["Attacher", "BackendContext", "BackendInfo", "TicketBackend"]


class TicketBackend(Protocol):
    """One ticket system, one project. Every method raises `TicketUnavailable` (retry later)
    or `TicketRefused` (parked); never anything else for what the server answers."""

    #: The backend's registered name (`redmine`), for messages and the ledger.
    name: str

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        """The ticket carrying `fingerprint`, open or closed, else None. Asked before every
        create (a lost ledger must not duplicate). `recent`: a create of this fingerprint was
        sent minutes ago and its answer lost, so a search index that lags (Jira) must be
        waited for; otherwise one look is enough."""

    def create(self, draft: TicketDraft) -> RemoteTicket:
        """Open a ticket. Never retried by the backend itself: the outbox decides."""

    def update(self, ref: str, draft: TicketDraft, note: str | None, delivery_id: str) -> None:
        """Bring the ticket's fields (title, description, priority, estimate, labels) to
        `draft`; add `note` as a comment when given. `delivery_id` identifies this write:
        a backend that can, writes it in the note so `delivered` can find it."""

    def close(self, ref: str, note: str, delivery_id: str) -> None:
        """Close the ticket with a comment saying why (every target reached)."""

    def delivered(self, ref: str, delivery_id: str) -> bool:
        """Whether the update or close `delivery_id` already reached the ticket (its answer was
        lost): the outbox then marks it done instead of adding the same note twice. A backend
        that cannot tell returns False (the write is sent again; fields are idempotent)."""

    def fetch(self, refs: Sequence[str]) -> Mapping[str, RemoteTicket]:
        """The current state of these tickets (missing ones are left out), in as few
        requests as the API allows: read back on every run and by `tma requests sync`."""

    def check(self) -> list[str]:
        """`tma tickets check`: what is wrong with the ticket system's setup, each a line
        saying exactly what an admin must create or fix (empty: ready)."""

    def close_connection(self) -> None:
        """Release the HTTP client."""


class Attacher(Protocol):
    """The optional method of a backend that can put files on a ticket (`BackendInfo.attaches`).
    A backend without it gets the note alone, the files named by label and dashboard link.
    Errors as in `TicketBackend`."""

    name: str

    def attach(self, ref: str, files: Sequence[TicketFile], note: str, delivery_id: str) -> None:
        """Add `note` as one comment on ticket `ref` with `files` attached to it (uploaded
        where the system keeps files, else linked by `TicketFile.url`). `delivery_id` as in
        `update`: written in the comment so `delivered` finds a write whose answer was lost
        (files uploaded but never referenced by a comment are the system's to clean up)."""


@dataclass(frozen=True)
class BackendContext:
    """What a factory gets: its validated settings and the run's HTTP settings."""

    settings: TicketSettings
    http: HTTPSettings
    #: `tickets` or `clients[N].tickets`, for messages.
    where: str = "tickets"


@dataclass(frozen=True)
class BackendInfo:
    """A ticket backend registered through `tma_register_ticket_backends`.

    `settings_model` validates the whole `tickets:` block for this backend: a subclass of
    `tma_agent.tickets.TicketSettings` adding the backend's own keys (a Redmine tracker, a
    Jira issue type). `default_statuses` maps the ticket system's usual status names to what
    they mean when `tickets.statuses` does not say.
    """

    name: str
    title: str
    factory: Callable[[BackendContext], TicketBackend]
    settings_model: type[TicketSettings]
    default_statuses: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: True when the ticket system can express the client's validation (a status, a label);
    #: otherwise validations are recorded with `tma requests validate`.
    reads_validations: bool = True
    #: True when the ticket system keeps time and the backend implements
    #: `tma_agent.tickets.TimeKeeper` (Redmine, GitLab, Jira); time entries of the other
    #: backends' clients are marked done with "keeps no time" (GitHub, webhook, ledger).
    tracks_time: bool = False
    #: True when the backend implements `tma_agent.tickets.Attacher` (files on tickets).
    attaches: bool = False
