"""The `tickets:` block of the `jira` backend (Jira Cloud, REST API v3)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from tma_agent.tickets import TicketSettings

__all__ = ["DEFAULT_PRIORITIES", "DEFAULT_STATUSES", "JiraSettings"]

#: Jira's stock priority scheme, from the agent's four levels.
DEFAULT_PRIORITIES = {"low": "Low", "normal": "Medium", "high": "High", "urgent": "Highest"}
DEFAULT_STATUSES = {
    "validated": ["Validated"],
    "rejected": ["Rejected", "Won't Do"],
    "closed": ["Done", "Closed"],
}


class JiraSettings(TicketSettings):
    """`url` (`https://agency.atlassian.net`), `user` (the account's email), `token` (its API
    token, `{$env: JIRA_API_TOKEN}`; `api_token` is the same key under Atlassian's name),
    `project` (the project key)."""

    api_token: str | None = None
    issue_type: str = "Task"
    #: The agent's levels to the project's priority names; a level left out is not sent.
    priorities: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    #: The transition (or the status it leads to) the agent takes to close a ticket.
    close_transition: str = "Done"
    #: Seconds `find` keeps looking for a ticket that Jira's search index may not show yet.
    search_lag: float = Field(3.0, ge=0, le=120)

    @field_validator("priorities")
    @classmethod
    def _levels(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_PRIORITIES))
        if unknown:
            raise ValueError(f"unknown levels {unknown} (low, normal, high, urgent)")
        return value

    @model_validator(mode="after")
    def _complete(self) -> JiraSettings:
        if self.token and self.api_token:
            raise ValueError("give the API token once: token or api_token, not both")
        missing = [key for key in ("url", "user", "project") if not getattr(self, key)]
        if not (self.token or self.api_token):
            missing.append("token")
        if missing:
            raise ValueError(
                f"the jira backend needs {', '.join(missing)} (url: https://SITE.atlassian.net, "
                "user: the account's email, token: {$env: JIRA_API_TOKEN}, project: the key)"
            )
        return self

    @property
    def secret(self) -> str:
        return self.token or self.api_token or ""
