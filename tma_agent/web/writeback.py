"""A validation given in the portal, written back to the ticket system through the outbox so
both say the same: a note on the ticket, with the ticket's fields left as the agent last wrote
them (the draft of the request's last create or update is sent again, unchanged)."""

from __future__ import annotations

import pluggy
from sqlalchemy import select

from tma_agent.config import Config
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import OutboxItem, OutboxState, Request

__all__ = ["NOTE", "queue_validation_note", "send_validation_note"]

NOTE = "Validated by {by} in the client portal ({at} UTC)."


def queue_validation_note(ledger: Ledger, request_id: int) -> bool:
    """Queue the note of the request's first validation once (its idempotency key says
    which validation); False when the request has no ticket write to take fields from."""
    with ledger.session() as session:
        request = session.get(Request, request_id)
        if request is None or not request.validations:
            return False
        validation = request.validations[0]
        last = session.scalar(
            select(OutboxItem)
            .where(
                OutboxItem.request_id == request_id,
                OutboxItem.operation.in_(("create", "update")),
            )
            .order_by(OutboxItem.id.desc())
            .limit(1)
        )
        if last is None or not (last.payload or {}).get("draft"):
            return False
        key = f"validated:{request.fingerprint}:{validation.id}"
        if session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key)):
            return True
        at = validation.at.isoformat(timespec="seconds").replace("+00:00", "")
        session.add(
            OutboxItem(
                request_id=request_id,
                operation="update",
                payload={
                    "draft": last.payload["draft"],
                    "note": NOTE.format(by=validation.validated_by, at=at),
                },
                idempotency_key=key,
                state=OutboxState.QUEUED,
            )
        )
        return True


def send_validation_note(
    config: Config, pm: pluggy.PluginManager, ledger: Ledger, request_id: int
) -> list[str]:
    """Queue the note and send the request's outbox now, as `tma requests add` does; what
    cannot be sent stays queued for the next run (the errors are returned, not raised)."""
    from tma_agent.tickets.outbox import send_outbox
    from tma_agent.tickets.registry import registered_ticket_backends
    from tma_agent.tickets.targets import Backends

    if not queue_validation_note(ledger, request_id):
        return []
    backends = Backends(config, registered_ticket_backends(pm))
    try:
        return send_outbox(ledger, backends.for_request, request_ids=[request_id]).errors
    finally:
        backends.close()
