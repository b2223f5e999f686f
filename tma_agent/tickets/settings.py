"""The `tickets:` block (global, and `clients[].tickets` overriding it) and `requests:`."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from tma_agent.settings import Strict

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "AttachmentSettings",
    "EstimateRule",
    "Estimates",
    "RequestSettings",
    "StatusMap",
    "TicketSettings",
    "TicketsBlock",
]


class StatusMap(Strict):
    """Ticket-system status names meaning validated, rejected or closed (empty: the backend's
    defaults). Any other status is `open`."""

    validated: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    closed: list[str] = Field(default_factory=list)


#: Redmine's default upload limit (5 MiB): a file bigger than this stays on the dashboard.
DEFAULT_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


class AttachmentSettings(Strict):
    """`tickets.attachments`: the files (visual checks' images) put on tickets."""

    #: A bigger file is left out of the ticket and the note says so (set it to your ticket
    #: system's own limit: Redmine's Administration » Settings » Files, GitLab's, Jira's).
    max_bytes: int = Field(DEFAULT_MAX_ATTACHMENT_BYTES, gt=0, le=100 * 1024 * 1024)


class TicketSettings(Strict):
    """The keys every backend shares. A backend's `settings_model` subclasses this one with its
    own keys; unknown keys are then `file:line` errors."""

    backend: str = "ledger"
    url: str | None = None
    #: Secrets: write them `{$env: NAME}` or `{$file: PATH}`; masked everywhere.
    api_key: str | None = None
    token: str | None = None
    user: str | None = None
    #: Project identifier (Redmine), project id or path (GitLab), key (Jira), owner/repo (GitHub).
    project: str | None = None
    fingerprint_field: str = "TMA fingerprint"
    statuses: StatusMap = Field(default_factory=lambda: StatusMap())
    #: Labels added to every ticket the agent opens.
    labels: list[str] = Field(default_factory=lambda: ["tma"])
    attachments: AttachmentSettings = Field(default_factory=lambda: AttachmentSettings())

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value


class TicketsBlock(TicketSettings):
    """As written in the config: the backend's own keys are kept for its `settings_model`,
    which validates them once plugins are loaded."""

    model_config = ConfigDict(extra="allow", frozen=True)


class EstimateRule(Strict):
    """Hours per component matching `stack` and `update` (None: any)."""

    stack: str | None = None
    update: str | None = None
    hours: Decimal = Field(gt=0, le=40)


class Estimates(Strict):
    default_hours: Decimal = Field(Decimal(1), gt=0, le=40)
    rules: list[EstimateRule] = Field(default_factory=list)


class RequestSettings(Strict):
    grouping: Literal["per_site", "security_apart", "per_component"] = "per_site"
    estimates: Estimates = Field(default_factory=lambda: Estimates())
