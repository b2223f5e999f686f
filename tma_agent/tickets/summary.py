"""What `tma run` hands to `tma_run_finished` and prints: the run, and what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tma_agent.config import Config
    from tma_agent.models import SiteReport

__all__ = ["Action", "RequestOutcome", "RunInfo", "RunSummary"]

#: What a run did to a request (the JSON contract of `tma run`).
Action = Literal["created", "updated", "unchanged", "queued", "closed"]


@dataclass(frozen=True)
class RunInfo:
    #: The ledger's run id; None for a dry run (nothing is recorded).
    id: int | None
    started_at: datetime
    finished_at: datetime
    dry_run: bool
    sites: tuple[str, ...]
    #: The run's configuration, for plugins with settings of their own (notifications).
    config: Config | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RequestOutcome:
    fingerprint: str
    site: str
    action: Action
    #: The backend's reference, None until the ticket system has answered a create.
    ticket: str | None
    state: str
    #: Why the write is queued or parked (the ticket system's last answer), else None.
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "site": self.site,
            "action": self.action,
            "ticket": self.ticket,
            "state": self.state,
            "detail": self.detail,
        }


@dataclass
class RunSummary:
    requests: list[RequestOutcome] = field(default_factory=list)
    #: Ticket writes still waiting (the ticket system was down, slow or answered 5xx).
    queued: int = 0
    #: Ticket writes refused for good (401/403/404/422) until `tma requests retry`.
    parked: int = 0
    reports: list[SiteReport] = field(default_factory=list)
    #: One line per problem the run met with the ticket systems (backend and URL named).
    ticket_errors: list[str] = field(default_factory=list)
    #: Bucket thresholds (`billing.alerts`) reached for the first time in their period.
    alerts: list[dict[str, Any]] = field(default_factory=list)
    #: Applies the run recovered or made in staging (`policies.auto_apply`), one per site.
    applies: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": [r.to_dict() for r in self.requests],
            "queued": self.queued,
            "parked": self.parked,
            "ticket_errors": list(self.ticket_errors),
            "alerts": list(self.alerts),
            "sites": [r.to_dict() for r in self.reports],
        }
