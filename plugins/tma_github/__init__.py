"""GitHub ticket backend plugin: maintenance requests as issues of one GitHub repository.

Modules: `settings` (the `tickets:` keys), `backend` (the protocol over the REST API), `check`
(`tma tickets check`), `links` (files on tickets: linked, not uploaded), `_wire` (rate limits,
paging, reading answers defensively), `testing` (a stateful local GitHub and its pytest
fixtures).
"""

from __future__ import annotations

from collections.abc import Callable

from tma_agent.hookspecs import hookimpl
from tma_agent.tickets import BackendContext, BackendInfo, TicketBackend
from tma_github.settings import GitHubSettings

__all__ = ["GitHubSettings", "make_backend", "tma_register_ticket_backends"]


def make_backend(context: BackendContext) -> TicketBackend:
    from tma_github.backend import GitHubBackend  # the HTTP client only when a run needs it

    return GitHubBackend(context)


@hookimpl
def tma_register_ticket_backends(register: Callable[[BackendInfo], None]) -> None:
    register(
        BackendInfo(
            name="github",
            title="GitHub issues (REST API)",
            factory=make_backend,
            settings_model=GitHubSettings,
            default_statuses={
                "validated": ["tma:validated"],
                "rejected": ["tma:rejected", "closed:not_planned"],
                "closed": ["closed", "closed:duplicate"],
            },
            # Files are linked in a comment, not uploaded (see `links`).
            attaches=True,
        )
    )
