"""The `tickets:` block of the `gitlab` backend."""

from __future__ import annotations

import re

from pydantic import field_validator, model_validator

from tma_agent.tickets import StatusMap, TicketSettings

__all__ = ["GitLabSettings"]


class GitLabSettings(TicketSettings):
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

    @field_validator("labels", "validated_label", "rejected_label")
    @classmethod
    def _labels(cls, value: str | list[str]) -> str | list[str]:
        for label in [value] if isinstance(value, str) else value:
            # A comma would split the label in GitLab's comma-separated `labels` parameter.
            if not label.strip() or "," in label or len(label) > 255:
                raise ValueError(f"{label!r}: a label is 1-255 characters without a comma")
        return value

    @model_validator(mode="after")
    def _statuses(self) -> GitLabSettings:
        # Renamed labels mean validated/rejected without repeating them in `statuses`.
        statuses = StatusMap(
            validated=self.statuses.validated or [self.validated_label],
            rejected=self.statuses.rejected or [self.rejected_label],
            closed=self.statuses.closed or ["closed"],
        )
        if statuses != self.statuses:
            # Frozen model: set once while validating, never after.
            object.__setattr__(self, "statuses", statuses)
        return self
