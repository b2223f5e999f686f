"""Queueing an intervention's time entry in the outbox: every intervention becomes exactly one
time entry in the ticket system, and an edit or a delete in an open month changes or removes
that entry. What is sent, and whether the backend keeps time at all, is decided when sending."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from tma_agent.ledger.models import Intervention, OutboxItem, OutboxState

__all__ = ["TimeOperation", "entry_payload", "queue_time_entry"]

TimeOperation = Literal["time_create", "time_update", "time_delete"]


def entry_payload(intervention: Intervention) -> dict[str, object]:
    """What the ticket system's time entry says, as recorded when the write was queued."""
    return {
        "intervention": intervention.id,
        "site": intervention.site,
        "client": intervention.client,
        "kind": intervention.kind.value,
        "minutes": intervention.billed_minutes,
        "spent_on": intervention.spent_on.isoformat(),
        "actor": intervention.actor,
        "description": intervention.description,
    }


def queue_time_entry(
    session: Session, intervention: Intervention, operation: TimeOperation
) -> None:
    """Queue the write in the caller's unit of work (the intervention and its time entry are
    recorded together or not at all). Keys are unique per intervention and revision."""
    session.flush()
    key = f"{operation}:{intervention.id}:{intervention.revision}"
    session.add(
        OutboxItem(
            request_id=intervention.request_id,
            intervention_id=intervention.id,
            operation=operation,
            payload=entry_payload(intervention),
            idempotency_key=key,
            state=OutboxState.QUEUED,
        )
    )
