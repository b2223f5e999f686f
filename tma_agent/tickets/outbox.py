"""Sending the outbox: every ticket write was recorded in the ledger before; here it is marked
`sent` (committed) before it leaves, and `done` with the answer after. A write found `sent` by a
later run may have reached the ticket system with its answer lost (a crash, a SIGKILL, a
timeout): an update (or an attach: a note with files, `tickets.files`) is then asked
`delivered` before it is sent again. A create is always
searched by fingerprint first (a lost answer, or a lost ledger), so nothing is ever
duplicated, and nothing is lost.

Items of one request go in order; one that cannot be sent holds back the later ones. A
ticket system that fails once as unavailable is left alone for the rest of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select

from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import OutboxItem, OutboxState, Request
from tma_agent.tickets._backend import TicketBackend
from tma_agent.tickets._types import TicketDraft, TicketRefused
from tma_agent.tickets.delivery import PENDING, attempt, claim, sent_lately
from tma_agent.tickets.files import attached_note, linked_note, load_files, queued_files
from tma_agent.tickets.settings import TicketSettings

__all__ = ["PENDING", "BackendFor", "OutboxReport", "send_outbox"]

log = structlog.get_logger()

#: The backend (and a key naming its configuration) for a request's client.
BackendFor = Callable[[Request], tuple[str, TicketBackend]]


@dataclass
class OutboxReport:
    #: Request ids whose writes all went through this run, with the operations done.
    done: dict[int, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def send_outbox(
    ledger: Ledger, backend_for: BackendFor, *, request_ids: Iterable[int] | None = None
) -> OutboxReport:
    report = OutboxReport()
    with ledger.session() as session:
        # Time entries (`time_*`, about an intervention) are sent by the billing package.
        query = select(OutboxItem.id, OutboxItem.request_id).where(
            OutboxItem.state.in_(PENDING),
            OutboxItem.intervention_id.is_(None),
            OutboxItem.request_id.is_not(None),  # bucket notices: tma_agent.billing.notices
        )
        if request_ids is not None:
            query = query.where(OutboxItem.request_id.in_(list(request_ids)))
        pending = list(session.execute(query.order_by(OutboxItem.id)))
    held: set[int | None] = set()
    down: set[str] = set()
    for item_id, request_id in pending:
        if request_id in held:
            continue
        ok = _send_one(ledger, item_id, backend_for, down, report)
        if not ok:
            held.add(request_id)
    return report


def _send_one(
    ledger: Ledger, item_id: int, backend_for: BackendFor, down: set[str], report: OutboxReport
) -> bool:
    with ledger.session() as session:
        item = session.get(OutboxItem, item_id)
        if item is None or item.state not in PENDING:
            return True  # another process finished it
        request = session.get(Request, item.request_id) if item.request_id else None
        if request is None:  # a time entry without a request: the billing sender's
            return False
        target, backend = backend_for(request)
        if target in down:
            return False
        claimed = claim(item)
        operation, payload, key = item.operation, dict(item.payload), item.idempotency_key
        fingerprint, ref = request.fingerprint, request.ticket_ref
    # Committed as `sent` before it leaves: from here a crash means "maybe delivered".
    result = attempt(
        ledger,
        item_id,
        target,
        down,
        report.errors,
        lambda: _deliver(
            backend,
            operation,
            payload,
            key,
            fingerprint,
            ref,
            claimed.answer_lost,
            claimed.sent_at,
        ),
    )
    if result is None:
        return False
    _finish(ledger, item_id, OutboxState.DONE, result.answer, ticket=result)
    if item.request_id is not None:
        report.done.setdefault(item.request_id, []).append(operation)
    return True


@dataclass(frozen=True)
class _Result:
    answer: str
    ref: str | None = None
    url: str | None = None
    status: str | None = None


def _deliver(
    backend: TicketBackend,
    operation: str,
    payload: dict[str, object],
    key: str,
    fingerprint: str,
    ref: str | None,
    answer_lost: bool,
    sent_at: datetime | None = None,
) -> _Result:
    draft = _draft(payload.get("draft"))
    raw_note = payload.get("note")
    note = raw_note if isinstance(raw_note, str) else None
    if operation in ("create", "update", "attach") and draft is None:
        raise TicketRefused(backend.name, "-", f"{operation} of {fingerprint}: no draft recorded")
    if operation == "create" and draft is not None:
        # Searched before every create, not only after a lost answer: a ledger restored from
        # an old backup or lost altogether must find its tickets, never open them twice.
        found = backend.find(fingerprint, recent=answer_lost and sent_lately(sent_at))
        if found is not None:
            log.info(
                "ticket found by fingerprint",
                fingerprint=fingerprint,
                ref=found.ref,
                answer_lost=answer_lost,
            )
            return _Result("found by fingerprint", found.ref, found.url, found.status)
        created = backend.create(draft)
        return _Result("created", created.ref, created.url, created.status)
    if ref is None:
        raise TicketRefused(backend.name, "-", f"{operation} of {fingerprint}: no ticket yet")
    if answer_lost and backend.delivered(ref, key):
        return _Result("delivered before")
    if operation == "update" and draft is not None:
        backend.update(ref, draft, note, key)
    elif operation == "attach" and draft is not None:
        _attach(backend, ref, draft, payload, note, key)
    elif operation == "close":
        backend.close(ref, note or "", key)
    else:
        raise TicketRefused(backend.name, "-", f"unknown outbox operation {operation!r}")
    return _Result("attached" if operation == "attach" else f"{operation}d")


def _attach(
    backend: TicketBackend,
    ref: str,
    draft: TicketDraft,
    payload: dict[str, object],
    note: str | None,
    key: str,
) -> None:
    """The files to a backend that has `attach`, the note with the files' labels and links to
    any other. The method's presence decides, not `BackendInfo.attaches` (which says the same
    for people): the outbox holds the backend object, not its registration."""
    queued = queued_files(payload)
    attach = getattr(backend, "attach", None)
    if callable(attach):
        # The limit configured now, so that lowering it lets a refused note through on
        # `tma requests retry`: every backend gets its settings, the built-in ones keep them.
        settings = getattr(backend, "settings", None)
        limit = settings.attachments.max_bytes if isinstance(settings, TicketSettings) else None
        # Read now: only what is still there.
        files, left_out = load_files(payload, queued, max_bytes=limit)
        attach(ref, files, attached_note(note, left_out), key)
    else:
        backend.update(ref, draft, linked_note(note, queued), key)


def _draft(raw: object) -> TicketDraft | None:
    if not isinstance(raw, dict):
        return None
    fields = dict(raw)
    fields["labels"] = tuple(fields.get("labels") or ())
    return TicketDraft(**fields)


def _finish(
    ledger: Ledger, item_id: int, state: OutboxState, answer: str, ticket: _Result | None = None
) -> None:
    with ledger.session() as session:
        item = session.get(OutboxItem, item_id)
        if item is None:
            return
        item.state, item.last_answer = state, answer[:2000]
        if ticket is not None and ticket.ref is not None:
            request = session.get(Request, item.request_id)
            if request is not None:
                request.ticket_ref = ticket.ref
                request.ticket_url = ticket.url
                request.ticket_status = ticket.status
