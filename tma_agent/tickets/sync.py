"""Reading the ticket system back: the client's validation, a rejection or a close made by
people in the ticket system become the request's validation or state in the ledger, with the
history of who changed what, when and from where."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Request, RequestEvent, Validation, WorkState
from tma_agent.tickets._backend import BackendInfo, TicketBackend
from tma_agent.tickets._types import RemoteTicket, TicketError
from tma_agent.tickets.reconcile import OPEN_STATES
from tma_agent.tickets.registry import meaning_of
from tma_agent.tickets.settings import StatusMap

__all__ = [
    "SyncChange",
    "SyncReport",
    "TargetOf",
    "reject_request",
    "sync_states",
    "validate_request",
]

#: For a request: (configuration key, backend info, backend, status map).
TargetOf = Callable[[Request], tuple[str, BackendInfo, TicketBackend, StatusMap]]


@dataclass(frozen=True)
class SyncChange:
    fingerprint: str
    ticket: str
    status: str
    #: `validated`, `rejected`, `closed`.
    change: str


@dataclass
class SyncReport:
    changes: list[SyncChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def sync_states(
    ledger: Ledger,
    target_of: TargetOf,
    *,
    sites: Sequence[str] | None = None,
    refs: Sequence[str] | None = None,
    ticket_backend: str | None = None,
) -> SyncReport:
    """Read the open requests' tickets back (only these sites', or only the tickets `refs`
    of `ticket_backend`: a webhook's nudge) and record what people decided there."""
    report = SyncReport()
    with ledger.session() as session:
        query = select(Request).where(
            Request.state.in_(OPEN_STATES), Request.ticket_ref.is_not(None)
        )
        if sites is not None:
            query = query.where(Request.site.in_(list(sites)))
        if refs is not None:
            query = query.where(Request.ticket_ref.in_(list(refs)))
        if ticket_backend is not None:
            query = query.where(Request.ticket_backend == ticket_backend)
        requests = list(session.scalars(query.order_by(Request.id)))
        batches: dict[str, list[Request]] = {}
        infos: dict[str, tuple[BackendInfo, TicketBackend, StatusMap]] = {}
        for request in requests:
            key, info, backend, statuses = target_of(request)
            if not info.reads_validations:
                continue
            batches.setdefault(key, []).append(request)
            infos[key] = (info, backend, statuses)
    for key, batch in batches.items():
        info, backend, statuses = infos[key]
        try:
            seen = backend.fetch([r.ticket_ref for r in batch if r.ticket_ref])
        except TicketError as exc:
            report.errors.append(str(exc))
            continue
        _apply(ledger, info, statuses, batch, seen, report)
    return report


def _apply(
    ledger: Ledger,
    info: BackendInfo,
    statuses: StatusMap,
    batch: Sequence[Request],
    seen: Mapping[str, RemoteTicket],
    report: SyncReport,
) -> None:
    with ledger.session() as session:
        for stale in batch:
            remote = seen.get(stale.ticket_ref or "")
            request = session.get(Request, stale.id)
            if remote is None or request is None:
                continue
            request.ticket_status = remote.status
            if remote.url:
                request.ticket_url = remote.url
            meaning = meaning_of(remote.status, statuses, info.default_statuses)
            who = remote.changed_by or f"{info.name} status {remote.status!r}"
            if meaning == "validated" and not request.validations:
                request.validations.append(Validation(validated_by=who, source=info.name))
            elif meaning in ("rejected", "closed") and request.state in OPEN_STATES:
                to = WorkState.REJECTED if meaning == "rejected" else WorkState.CLOSED
                request.events.append(
                    RequestEvent(from_state=request.state, to_state=to, actor=who, source=info.name)
                )
                request.state = to
            else:
                continue
            report.changes.append(
                SyncChange(request.fingerprint, remote.ref, remote.status, meaning)
            )


def validate_request(ledger: Ledger, reference: str, by: str, *, source: str = "cli") -> Request:
    """Record the client's validation given outside any ticket system (`tma requests
    validate`); validating twice keeps the first."""
    from tma_agent.tickets.lookup import find_request

    with ledger.session() as session:
        request = find_request(session, reference)
        if not request.validations:
            request.validations.append(Validation(validated_by=by, source=source))
        return request


def reject_request(ledger: Ledger, reference: str, by: str, *, source: str = "cli") -> Request:
    """Record the client's rejection (`tma requests reject`): the request is closed to the
    agent until a strictly newer target appears."""
    from tma_agent.errors import TmaError
    from tma_agent.tickets.lookup import find_request

    with ledger.session() as session:
        request = find_request(session, reference)
        if request.state not in OPEN_STATES:
            raise TmaError(f"request #{request.id} is already {request.state.value}")
        request.events.append(
            RequestEvent(
                from_state=request.state, to_state=WorkState.REJECTED, actor=by, source=source
            )
        )
        request.state = WorkState.REJECTED
        return request
