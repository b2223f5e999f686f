"""The `tickets:` block of the `gitlab` backend (the shared keys: `ForgeSettings`)."""

from __future__ import annotations

import re

from pydantic import field_validator

from tma_agent.tickets.forge.settings import ForgeSettings

__all__ = ["GitLabSettings"]


class GitLabSettings(ForgeSettings):
    url: str | None = "https://gitlab.com"
    #: A personal, group or project access token with the `api` scope (`{$env: GITLAB_TOKEN}`).
    token: str
    #: Numeric project id or full path (`agency/maintenance`).
    project: str
    #: Labels people add to say the client validated or rejected the request; GitLab has no
    #: workflow statuses beyond opened/closed.
    validated_label: str = "tma::validated"
    rejected_label: str = "tma::rejected"

    @field_validator("url")
    @classmethod
    def _root(cls, value: str | None) -> str | None:
        # The instance's address is wanted; `/api/v4` written by habit is tolerated.
        return value.removesuffix("/api/v4") if value else value

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not re.fullmatch(r"\d+|[\w.-]+(/[\w.-]+)+", value):
            raise ValueError("must be a numeric project id or a path like group/project")
        return value
