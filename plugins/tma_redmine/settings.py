"""The `tickets:` block of the Redmine backend (`backend: redmine`)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from tma_agent.settings import Strict
from tma_agent.tickets import Priority, TicketDraft, TicketSettings

__all__ = ["DEFAULT_STATUSES", "PriorityNames", "RedmineSettings", "project_for", "project_of"]

#: What Redmine's default data calls these (plus `Validated`, which an admin adds).
DEFAULT_STATUSES: dict[str, list[str]] = {
    "validated": ["Validated"],
    "rejected": ["Rejected"],
    "closed": ["Closed", "Resolved"],
}

_PLACEHOLDER = re.compile(r"\{(client|site)\}")
# Redmine project identifiers: lower-case letters, digits, dashes and underscores.
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_-]+")


class PriorityNames(Strict):
    """Redmine priority names (Administration » Enumerations) for the agent's priorities."""

    low: str = "Low"
    normal: str = "Normal"
    high: str = "High"
    urgent: str = "Urgent"

    def name_of(self, priority: Priority) -> str:
        return str(getattr(self, priority))


class RedmineSettings(TicketSettings):
    backend: str = "redmine"
    url: str
    #: Sent as `X-Redmine-API-Key` (My account » API access key); write it `{$env: NAME}`.
    api_key: str
    #: Project identifier; `{client}` and `{site}` make one project per client or per site.
    project: str
    tracker: str = "Support"
    priorities: PriorityNames = Field(default_factory=lambda: PriorityNames())
    #: The status the agent sets when every target is reached.
    close_status: str = "Closed"
    #: Time entry activities (Administration » Enumerations) per intervention kind; a kind
    #: not listed gets `default_activity`, else Redmine's default activity.
    activities: dict[str, str] = Field(default_factory=dict)
    default_activity: str | None = None
    #: Developers' names (`tma time log --by`) to Redmine logins: the entry is logged for
    #: that user (an administrator's key may log for another user).
    users: dict[str, str] = Field(default_factory=dict)

    @field_validator("project")
    @classmethod
    def _identifier(cls, value: str) -> str:
        rest = _PLACEHOLDER.sub("", value)
        if "{" in rest or "}" in rest:
            raise ValueError("only the placeholders {client} and {site} are allowed")
        if not value or _NOT_IDENTIFIER.search(rest):
            raise ValueError(
                "must be a Redmine project identifier (a-z, 0-9, - and _; "
                "placeholders {client} and {site})"
            )
        return value

    @property
    def project_is_template(self) -> bool:
        return bool(_PLACEHOLDER.search(self.project))


def project_for(settings: RedmineSettings, draft: TicketDraft) -> str:
    """The project identifier of this draft: placeholders get the client's or site's id made
    into a Redmine identifier (lower case, other characters turned into `-`)."""
    return project_of(settings, draft.client, draft.site)


def project_of(settings: RedmineSettings, client: str, site: str) -> str:
    def fill(match: re.Match[str]) -> str:
        raw = client if match.group(1) == "client" else site
        return _NOT_IDENTIFIER.sub("-", raw.lower()).strip("-")

    return _PLACEHOLDER.sub(fill, settings.project)
