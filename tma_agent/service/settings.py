"""The operations blocks of the configuration: `schedule`, `heartbeat`, `notify`."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from tma_agent.settings import Strict

__all__ = [
    "EmailSettings",
    "HeartbeatSettings",
    "NotifySettings",
    "ScheduleSettings",
    "WebhookNotify",
]

_DURATION = re.compile(r"^\d+(\.\d+)?\s*(us|ms|s|sec|m|min|h|hr|d|w)?$")


class ScheduleSettings(Strict):
    """When the systemd timer runs `tma run` (`tma systemd install`)."""

    #: A systemd calendar expression (`systemd-analyze calendar` checks it).
    on_calendar: str = "*-*-* 02:30"
    #: Spread the start of many agents (`RandomizedDelaySec`), a systemd time span.
    randomized_delay: str = "15m"

    @field_validator("on_calendar")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not value.strip() or "\n" in value or "\r" in value:
            raise ValueError("must be one systemd calendar expression on one line")
        return value.strip()

    @field_validator("randomized_delay")
    @classmethod
    def _span(cls, value: str) -> str:
        if not _DURATION.match(value.strip()):
            raise ValueError("must be a systemd time span such as 15m, 90s or 1h")
        return value.strip()


class HeartbeatSettings(Strict):
    #: healthchecks.io style: `URL/start` when a run starts, `URL` on success, `URL/fail`.
    url: str | None = None
    #: A run warns when the previous successful run is older than this.
    warn_after_hours: int = Field(36, ge=1)


class EmailSettings(Strict):
    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    #: Implicit TLS (port 465) instead of STARTTLS.
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    #: Send only when a run found, opened, applied or failed something.
    only_changes: bool = True
    timeout: float = Field(30.0, gt=0)
    #: A CA bundle to verify the server with (an agency's own CA); default: the system's.
    ca_file: str | None = None


class WebhookNotify(Strict):
    #: A Slack- or Mattermost-compatible incoming webhook.
    url: str
    only_changes: bool = True
    timeout: float = Field(10.0, gt=0)


class NotifySettings(Strict):
    email: EmailSettings | None = None
    webhook: WebhookNotify | None = None
