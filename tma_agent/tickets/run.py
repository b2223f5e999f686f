"""`tma run` after the check: requests decided and recorded per site, the outbox sent, the
ticket systems read back, and a summary. Only a successful check (`ok`, `updates`) changes a
site's requests: a `partial`, `error` or `unreachable` site keeps them exactly as they are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tma_agent.billing.sender import TimeReport, send_time_entries
from tma_agent.config import Config, Site
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.locks import LockHeld
from tma_agent.ledger.models import OutboxItem, OutboxState, Request
from tma_agent.models import SiteReport
from tma_agent.tickets.outbox import PENDING, send_outbox
from tma_agent.tickets.plan import plan_site
from tma_agent.tickets.reconcile import OPEN_STATES, Decision, decide, record, site_requests
from tma_agent.tickets.summary import Action, RequestOutcome, RunSummary
from tma_agent.tickets.sync import sync_states
from tma_agent.tickets.targets import Backends

__all__ = ["SUCCESSFUL", "plan_requests", "run_requests", "send_writes"]

log = structlog.get_logger()

#: Check statuses that may change requests.
SUCCESSFUL = frozenset({"ok", "updates"})
_ACTIONS: dict[str, Action] = {
    "create": "created",
    "update": "updated",
    "unchanged": "unchanged",
    "close": "closed",
    "stays_closed": "unchanged",
}


@dataclass(frozen=True)
class _Decided:
    decision: Decision
    request_id: int | None


def _site_url(site: Site, env: str) -> str | None:
    environment = site.environments.get(env)
    return environment.url if environment else None


def plan_requests(
    config: Config, report: SiteReport, existing: Sequence[Request]
) -> list[Decision]:
    site = next(s for s in config.sites if s.id == report.site)
    return decide(site.id, plan_site(report, site, config.requests), existing)


def run_requests(
    config: Config, ledger: Ledger, backends: Backends, reports: Sequence[SiteReport]
) -> RunSummary:
    summary = RunSummary(reports=list(reports))
    decided: list[_Decided] = []
    kept: list[RequestOutcome] = []
    for report in reports:
        if report.status in SUCCESSFUL:
            decided += _record_site(config, ledger, backends, report)
        else:
            kept += _kept(ledger, report)
    sent = send_writes(ledger, backends)
    synced = sync_states(ledger, backends.target_of, sites=[r.site for r in reports])
    summary.ticket_errors = [*dict.fromkeys([*sent, *synced.errors])]
    with ledger.session() as session:
        for entry in decided:
            summary.requests.append(_outcome(session, entry))
        summary.requests += kept
        summary.queued = _count(session, PENDING)
        summary.parked = _count(session, (OutboxState.PARKED,))
    return summary


def send_writes(ledger: Ledger, backends: Backends) -> list[str]:
    """The outbox's ticket writes, then the time entries (after the requests: an
    intervention's time entry goes on its request's ticket); the errors."""
    sent = send_outbox(ledger, backends.for_request)
    try:
        timed = send_time_entries(ledger, backends)
    except LockHeld as exc:  # another process is sending them: they will go
        log.info("time entries not sent by this run", reason=str(exc))
        timed = TimeReport()
    return [*sent.errors, *timed.errors]


def _record_site(
    config: Config, ledger: Ledger, backends: Backends, report: SiteReport
) -> list[_Decided]:
    site = next(s for s in config.sites if s.id == report.site)
    target = backends.target(site.client)
    labels = backends.settings(site.client).labels
    out = []
    with ledger.session() as session:
        decisions = plan_requests(config, report, site_requests(session, site.id))
        for decision in decisions:
            request = record(
                session,
                decision,
                backend=target.backend,
                url=_site_url(site, report.env),
                labels=labels,
            )
            session.flush()
            out.append(_Decided(decision, request.id if request is not None else None))
    return out


def _kept(ledger: Ledger, report: SiteReport) -> list[RequestOutcome]:
    reason = f"check {report.status}: requests kept as they are"
    with ledger.session() as session:
        return [
            RequestOutcome(r.fingerprint, r.site, "unchanged", r.ticket_ref, r.state.value, reason)
            for r in site_requests(session, report.site)
            if r.state in OPEN_STATES
        ]


def _outcome(session: Session, entry: _Decided) -> RequestOutcome:
    decision = entry.decision
    request = session.get(Request, entry.request_id) if entry.request_id else None
    if request is None:
        return RequestOutcome(
            decision.fingerprint, decision.site, _ACTIONS[decision.verb], None, decision.state
        )
    waiting = session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.request_id == request.id,
            # The request's own writes: a time entry waiting does not make its ticket queued.
            OutboxItem.intervention_id.is_(None),
            OutboxItem.state.in_([*PENDING, OutboxState.PARKED]),
        )
        .order_by(OutboxItem.id)
    ).first()
    action: Action = "queued" if waiting is not None else _ACTIONS[decision.verb]
    detail = waiting.last_answer if waiting is not None else None
    return RequestOutcome(
        request.fingerprint, request.site, action, request.ticket_ref, request.state.value, detail
    )


def _count(session: Session, states: Sequence[OutboxState]) -> int:
    query = select(func.count()).select_from(OutboxItem).where(OutboxItem.state.in_(list(states)))
    return int(session.scalar(query) or 0)
