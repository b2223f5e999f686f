"""Redmine ticket backend (`tickets.backend: redmine`), tested against a real Redmine 5.0.

Modules: `settings` (the `tickets:` keys), `api` (REST calls and cached name lookups), `backend`
(the protocol: find, create, update, attach, close, delivered, fetch, check), `uploads` (files
on issues), `reading` (issues back as `RemoteTicket`, in pages), `checks` (`tma tickets
check`), `testing` (a `tickets:` block and a backend for the test suite's Redmine). Documented
in docs/tickets.md, section `redmine`.
"""

from __future__ import annotations

from collections.abc import Callable

from tma_agent.hookspecs import hookimpl
from tma_agent.tickets import BackendInfo
from tma_redmine.backend import RedmineBackend
from tma_redmine.settings import DEFAULT_STATUSES, RedmineSettings

__all__ = ["RedmineBackend", "RedmineSettings", "tma_register_ticket_backends"]


@hookimpl
def tma_register_ticket_backends(register: Callable[[BackendInfo], None]) -> None:
    register(
        BackendInfo(
            name="redmine",
            title="Redmine (REST API, fingerprint in a custom field)",
            factory=RedmineBackend,
            settings_model=RedmineSettings,
            default_statuses=DEFAULT_STATUSES,
            tracks_time=True,
            attaches=True,
        )
    )
