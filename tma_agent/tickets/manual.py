"""Requests typed by people (`tma requests add`): a corrective fix or an evolution, recorded in
the ledger and sent to the ticket system through the same outbox as the agent's own."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select

from tma_agent.config import Config
from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Kind, OutboxItem, OutboxState, Request, RequestEvent, WorkState
from tma_agent.tickets._types import Priority, TicketDraft, marker_line
from tma_agent.tickets.plan import MAX_ESTIMATE_MINUTES, MIN_ESTIMATE_MINUTES
from tma_agent.tickets.targets import Backends

__all__ = ["MANUAL_GROUP", "add_request", "parse_estimate"]

#: Group keys of requests typed by people start with this: checks never close them.
MANUAL_GROUP = "manual"


def parse_estimate(text: str) -> int:
    """Hours (`1.5`, `1,5`) as whole minutes, 1-40 h."""
    try:
        hours = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise TmaError(f"--hours: {text!r} is not a number of hours") from None
    minutes = hours * 60
    if minutes != minutes.to_integral_value():
        raise TmaError(f"--hours: {text} is not a whole number of minutes")
    if not MIN_ESTIMATE_MINUTES <= minutes <= MAX_ESTIMATE_MINUTES:
        raise TmaError(f"--hours: an estimate is 1 to 40 hours, not {text}")
    return int(minutes)


def add_request(
    ledger: Ledger,
    config: Config,
    backends: Backends,
    *,
    site_id: str,
    kind: str,
    title: str,
    description: str,
    priority: str,
    estimate_minutes: int | None,
    actor: str,
) -> Request:
    site = next((s for s in config.sites if s.id == site_id), None)
    if site is None:
        raise TmaError(f"--site: no site {site_id!r} in the configuration")
    if not title.strip():
        raise TmaError("a request needs a title")
    target = backends.target(site.client)
    labels = backends.settings(site.client).labels
    with ledger.session() as session:
        number = 1 + int(
            session.scalar(
                select(func.count())
                .select_from(Request)
                .where(Request.site == site.id, Request.group_key.startswith(MANUAL_GROUP))
            )
            or 0
        )
        group = f"{MANUAL_GROUP}:{number}"
        fingerprint = f"tma:{site.id}:{group}"
        state = WorkState.NEW if estimate_minutes is None else WorkState.ESTIMATED
        body = "\n\n".join(p for p in (description.strip(), marker_line(fingerprint)) if p)
        request = Request(
            fingerprint=fingerprint,
            site=site.id,
            client=site.client,
            group_key=group,
            kind=Kind(kind),
            priority=priority,
            estimate_minutes=estimate_minutes or 0,
            title=title.strip()[:250],
            description=body,
            target_digest="",
            targets=[],
            state=state,
            ticket_backend=target.backend,
        )
        request.events.append(
            RequestEvent(from_state=None, to_state=state, actor=actor, source="cli")
        )
        session.add(request)
        session.flush()
        priority_value: Priority = priority  # type: ignore[assignment]
        draft = TicketDraft(
            fingerprint=fingerprint,
            title=request.title,
            description=body,
            site=site.id,
            client=site.client,
            kind=kind,
            priority=priority_value,
            estimate_minutes=estimate_minutes or MIN_ESTIMATE_MINUTES,
            labels=tuple(dict.fromkeys([*labels, kind])),
        )
        session.add(
            OutboxItem(
                request_id=request.id,
                operation="create",
                payload={"draft": asdict(draft), "note": None},
                idempotency_key=f"create:{fingerprint}",
                state=OutboxState.QUEUED,
            )
        )
    return request
