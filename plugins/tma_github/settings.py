"""The `tickets:` block of the `github` backend."""

from __future__ import annotations

import re

from pydantic import field_validator, model_validator

from tma_agent.tickets import StatusMap, TicketSettings

__all__ = ["MAX_LABEL", "GitHubSettings"]

#: GitHub refuses a longer label name (422 Validation Failed, resource Label).
MAX_LABEL = 50


class GitHubSettings(TicketSettings):
    #: The REST API root: GitHub Enterprise Server is `https://HOST/api/v3`.
    url: str | None = "https://api.github.com"
    #: A fine-grained token with Issues read/write on the repository, or a classic `repo`
    #: token (`{$env: GITHUB_TOKEN}`).
    token: str
    #: `owner/repo`.
    project: str
    #: Labels people add to say the client validated or rejected the request (closing an
    #: issue as "not planned" is a rejection too).
    validated_label: str = "tma:validated"
    rejected_label: str = "tma:rejected"

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*)/[\w.-]+", value):
            raise ValueError("must be owner/repo")
        return value

    @field_validator("labels", "validated_label", "rejected_label")
    @classmethod
    def _labels(cls, value: str | list[str]) -> str | list[str]:
        for label in [value] if isinstance(value, str) else value:
            # A comma would split the label in the `labels` filter of the issues list.
            if not label.strip() or "," in label or len(label) > MAX_LABEL:
                raise ValueError(f"{label!r}: a label is 1-{MAX_LABEL} characters without a comma")
        return value

    @model_validator(mode="after")
    def _statuses(self) -> GitHubSettings:
        # Renamed labels mean validated/rejected without repeating them in `statuses`.
        statuses = StatusMap(
            validated=self.statuses.validated or [self.validated_label],
            rejected=self.statuses.rejected or [self.rejected_label, "closed:not_planned"],
            closed=self.statuses.closed or ["closed", "closed:duplicate"],
        )
        if statuses != self.statuses:
            # Frozen model: set once while validating, never after.
            object.__setattr__(self, "statuses", statuses)
        return self
