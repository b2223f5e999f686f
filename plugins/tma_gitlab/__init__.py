"""GitLab ticket backend plugin: maintenance requests as issues of one GitLab project.

Modules: `settings` (the `tickets:` keys), `backend` (the protocol over REST v4), `check`
(`tma tickets check`), `uploads` (files on tickets), `spent` (time spent), `_wire` (reading
answers defensively), `testing` (a stateful local GitLab and its pytest fixtures).
"""

from __future__ import annotations

from collections.abc import Callable

from tma_agent.hookspecs import hookimpl
from tma_agent.tickets import BackendContext, BackendInfo, TicketBackend
from tma_gitlab.settings import GitLabSettings

__all__ = ["GitLabSettings", "make_backend", "tma_register_ticket_backends"]


def make_backend(context: BackendContext) -> TicketBackend:
    from tma_gitlab.backend import GitLabBackend  # the HTTP client only when a run needs it

    return GitLabBackend(context)


@hookimpl
def tma_register_ticket_backends(register: Callable[[BackendInfo], None]) -> None:
    register(
        BackendInfo(
            name="gitlab",
            title="GitLab issues (REST v4)",
            factory=make_backend,
            settings_model=GitLabSettings,
            default_statuses={
                "validated": ["tma::validated"],
                "rejected": ["tma::rejected"],
                "closed": ["closed"],
            },
            tracks_time=True,
            attaches=True,
        )
    )
