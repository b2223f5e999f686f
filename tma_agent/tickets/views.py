"""What `tma requests list|show|retry` read and change, as plain data (the JSON output)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import OutboxItem, OutboxState, Request, WorkState
from tma_agent.tickets.lookup import find_request
from tma_agent.tickets.outbox import PENDING

__all__ = ["list_requests", "outbox_counts", "show_request", "unpark"]


def _outbox_state(items: list[OutboxItem]) -> str | None:
    for state in (OutboxState.PARKED, OutboxState.SENT, OutboxState.QUEUED):
        if any(i.state is state for i in items):
            return "queued" if state is OutboxState.SENT else state.value
    return None


def list_requests(
    ledger: Ledger, *, site: str | None = None, state: str | None = None, queued: bool = False
) -> list[dict[str, Any]]:
    if state is not None and state not in {s.value for s in WorkState}:
        names = ", ".join(s.value for s in WorkState)
        raise TmaError(f"--state: unknown state {state!r} (one of {names})")
    with ledger.session() as session:
        query = select(Request).order_by(Request.id)
        if site:
            query = query.where(Request.site == site)
        if state:
            query = query.where(Request.state == WorkState(state))
        rows = []
        for request in session.scalars(query):
            items = list(
                session.scalars(select(OutboxItem).where(OutboxItem.request_id == request.id))
            )
            outbox = _outbox_state(items)
            if queued and outbox is None:
                continue
            rows.append(
                {
                    "id": request.id,
                    "fingerprint": request.fingerprint,
                    "site": request.site,
                    "client": request.client,
                    "kind": request.kind.value,
                    "state": request.state.value,
                    "priority": request.priority,
                    "estimate_minutes": request.estimate_minutes,
                    "validated": bool(request.validations),
                    "ticket": request.ticket_ref,
                    "ticket_status": request.ticket_status,
                    "outbox": outbox,
                    "outbox_answer": next(
                        (i.last_answer for i in items if i.state is OutboxState.PARKED), None
                    ),
                    "title": request.title,
                }
            )
        return rows


def show_request(ledger: Ledger, reference: str) -> dict[str, Any]:
    with ledger.session() as session:
        r = find_request(session, reference)
        items = list(
            session.scalars(
                select(OutboxItem).where(OutboxItem.request_id == r.id).order_by(OutboxItem.id)
            )
        )
        hours, minutes = divmod(r.estimate_minutes, 60)
        return {
            "id": r.id,
            "fingerprint": r.fingerprint,
            "site": r.site,
            "client": r.client,
            "kind": r.kind.value,
            "state": r.state.value,
            "priority": r.priority,
            "estimate_minutes": r.estimate_minutes,
            "estimate": f"{hours} h {minutes:02d}" if minutes else f"{hours} h",
            "title": r.title,
            "description": r.description,
            "targets": r.targets,
            "target_digest": r.target_digest,
            "ticket_backend": r.ticket_backend,
            "ticket": r.ticket_ref,
            "ticket_status": r.ticket_status,
            "ticket_url": r.ticket_url,
            "previous": r.previous.fingerprint if r.previous else None,
            "validations": [
                {"by": v.validated_by, "source": v.source, "at": v.at.isoformat(timespec="seconds")}
                for v in r.validations
            ],
            "events": [
                {
                    "from": e.from_state.value if e.from_state else None,
                    "to": e.to_state.value,
                    "actor": e.actor,
                    "source": e.source,
                    "at": e.at.isoformat(timespec="seconds"),
                }
                for e in r.events
            ],
            "outbox": [
                {
                    "id": i.id,
                    "operation": i.operation,
                    "state": i.state.value,
                    "attempts": i.attempts,
                    "answer": i.last_answer,
                }
                for i in items
            ],
        }


def unpark(ledger: Ledger, reference: str | None) -> int:
    """Queue parked writes again (a refused write was not applied: it is sent as new)."""
    with ledger.session() as session:
        query = update(OutboxItem).where(OutboxItem.state == OutboxState.PARKED)
        if reference is not None:
            query = query.where(OutboxItem.request_id == find_request(session, reference).id)
        result = session.execute(query.values(state=OutboxState.QUEUED))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def outbox_counts(ledger: Ledger) -> tuple[int, int]:
    with ledger.session() as session:

        def count(states: tuple[OutboxState, ...]) -> int:
            q = (
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.state.in_(list(states)))
            )
            return int(session.scalar(q) or 0)

        return count(PENDING), count((OutboxState.PARKED,))
