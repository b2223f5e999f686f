"""The `tickets:` block of the `github` backend (the shared keys: `ForgeSettings`)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import field_validator

from tma_agent.tickets.forge.settings import ForgeSettings

__all__ = ["MAX_LABEL", "GitHubSettings"]

#: GitHub refuses a longer label name (422 Validation Failed, resource Label).
MAX_LABEL = 50


class GitHubSettings(ForgeSettings):
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

    max_label: ClassVar[int] = MAX_LABEL
    more_rejected: ClassVar[tuple[str, ...]] = ("closed:not_planned",)
    closed_statuses: ClassVar[tuple[str, ...]] = ("closed", "closed:duplicate")

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*)/[\w.-]+", value):
            raise ValueError("must be owner/repo")
        return value
