"""Jira Cloud ticket backend (`tickets.backend: jira`), REST API v3.

Modules: `settings` (the `tickets:` keys), `adf` (Markdown to Atlassian Document Format),
`api` (Basic auth, Jira's error bodies, `search/jql` paging), `finder` (finding a ticket by
fingerprint despite the eventually consistent search), `backend` (the protocol methods),
`attachments` (files on tickets), `worklogs` (time spent),
`setup_check` (`tma tickets check`), `testing` (a faithful local Jira and its fixtures).
"""

from __future__ import annotations

from collections.abc import Callable

from tma_agent.hookspecs import hookimpl
from tma_agent.tickets import BackendInfo
from tma_jira.backend import JiraBackend
from tma_jira.settings import DEFAULT_STATUSES, JiraSettings

__all__ = ["JiraBackend", "JiraSettings", "tma_register_ticket_backends"]


@hookimpl
def tma_register_ticket_backends(register: Callable[[BackendInfo], None]) -> None:
    register(
        BackendInfo(
            name="jira",
            title="Jira Cloud (REST API v3)",
            factory=JiraBackend,
            settings_model=JiraSettings,
            default_statuses=DEFAULT_STATUSES,
            tracks_time=True,
            attaches=True,
        )
    )
