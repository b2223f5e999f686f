"""`tma time reconcile`: a month's interventions in the ledger against the time entries the
ticket systems show, every difference listed. Entries are matched by the id the ledger kept
(`time_entry_ref`), else by the delivery line of their comment. A ticket system that only
exposes totals per ticket (GitLab) is compared per ticket, on all-time totals."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Intervention, OutboxItem, Request
from tma_agent.tickets._time import RemoteTimeEntry, TimeKeeper
from tma_agent.tickets.delivery import PENDING
from tma_agent.tickets.targets import Backends

__all__ = ["Difference", "Reconciled", "parse_month", "reconcile_month"]

Problem = Literal["missing", "extra", "hours", "date"]
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Difference:
    client: str
    problem: Problem
    #: The ledger's intervention (None for an entry the ledger does not know).
    intervention: int | None
    site: str | None
    ticket: str | None
    entry: str | None
    ledger_minutes: int
    remote_minutes: int
    detail: str = ""


@dataclass
class Reconciled:
    month: str
    clients: list[str] = field(default_factory=list)
    #: Clients whose ticket system keeps no time, with its name.
    skipped: dict[str, str] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    ledger_minutes: int = 0
    remote_minutes: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "clients": self.clients,
            "skipped": self.skipped,
            "ledger_minutes": self.ledger_minutes,
            "remote_minutes": self.remote_minutes,
            "differences": [asdict(d) for d in self.differences],
        }


def parse_month(value: str) -> str:
    if not _MONTH.match(value):
        raise TmaError(f"--month {value!r}: expected YYYY-MM (e.g. 2026-03)")
    return value


def reconcile_month(
    ledger: Ledger, backends: Backends, month: str, client: str | None = None
) -> Reconciled:
    config = backends.config
    ids = [c.id for c in config.clients]
    if client is not None and client not in ids:
        raise TmaError(f"--client {client!r}: no such client (known: {', '.join(ids) or 'none'})")
    out = Reconciled(month)
    for client_id in [client] if client else ids:
        _, info, backend = backends.backend(client_id)
        if not info.tracks_time:
            out.skipped[client_id] = info.name
            continue
        out.clients.append(client_id)
        sites = [(client_id, s.id) for s in config.sites if s.client == client_id]
        with ledger.session() as session:
            _client(session, cast(TimeKeeper, backend), client_id, month, sites, out)
    return out


def _client(
    session: Session,
    keeper: TimeKeeper,
    client: str,
    month: str,
    sites: Sequence[tuple[str, str]],
    out: Reconciled,
) -> None:
    rows = list(
        session.execute(
            select(Intervention, Request.ticket_ref)
            .outerjoin(Request, Intervention.request_id == Request.id)
            .where(Intervention.client == client, Intervention.month == month)
            .order_by(Intervention.id)
        )
    )
    live = [(i, t) for i, t in rows if i.deleted_at is None and i.billed_minutes > 0]
    refs = sorted({t for _, t in rows if t is not None})
    remote = keeper.time_entries(month, refs=refs, scopes=sites)
    if any(r.ref is None for r in remote):
        _totals(session, client, remote, refs, out)
        return
    out.ledger_minutes += sum(i.billed_minutes for i, _ in live)
    out.remote_minutes += sum(r.minutes for r in remote)
    queued = _queued(session, [i.id for i, _ in live])
    naming: dict[int, list[RemoteTimeEntry]] = defaultdict(list)
    for entry in remote:
        if entry.intervention_id is not None:
            naming[entry.intervention_id].append(entry)
    used: set[str | None] = set()
    for intervention, ticket in live:
        # Matched by the delivery line, not by id alone: a deleted entry's id may be reused by
        # one a person adds by hand. Two entries naming one intervention: the second is extra.
        candidates = naming.get(intervention.id, [])
        found = next((r for r in candidates if r.ref == intervention.time_entry_ref), None)
        found = found or (candidates[0] if candidates else None)
        if found is None:
            why = "queued in the outbox (tma time sync)" if intervention.id in queued else ""
            out.differences.append(_diff(client, "missing", intervention, ticket, None, why))
            continue
        used.add(found.ref)
        if found.minutes != intervention.billed_minutes:
            out.differences.append(_diff(client, "hours", intervention, ticket, found))
        elif found.spent_on is not None and found.spent_on != intervention.spent_on:
            detail = f"ledger {intervention.spent_on}, ticket system {found.spent_on}"
            out.differences.append(_diff(client, "date", intervention, ticket, found, detail))
    mine = {i.id for i, _ in rows}
    for entry in remote:
        # Only what is this client's: on its tickets, or naming one of its interventions.
        ours = entry.ticket_ref in refs or entry.intervention_id in mine
        if entry.ref in used or not ours:
            continue
        if entry.intervention_id is None:
            detail = "not logged by the agent"
        elif entry.intervention_id in naming and any(
            i.id == entry.intervention_id for i, _ in live
        ):
            detail = "a second entry for the same intervention"
        else:
            detail = "the intervention is deleted or billed 0 in the ledger"
        out.differences.append(
            Difference(
                client,
                "extra",
                entry.intervention_id,
                None,
                entry.ticket_ref,
                entry.ref,
                0,
                entry.minutes,
                detail,
            )
        )


def _totals(
    session: Session,
    client: str,
    remote: Sequence[RemoteTimeEntry],
    refs: Sequence[str],
    out: Reconciled,
) -> None:
    # Totals are all-time: the ledger's side sums every month of the same tickets.
    rows = session.execute(
        select(Request.ticket_ref, Intervention.billed_minutes, Intervention.deleted_at)
        .join(Request, Intervention.request_id == Request.id)
        .where(Intervention.client == client, Request.ticket_ref.in_(list(refs)))
    )
    ledger: dict[str, int] = defaultdict(int)
    for ticket, minutes, deleted in rows:
        if ticket is not None:
            ledger[ticket] += 0 if deleted is not None else minutes
    shown = {r.ticket_ref: r.minutes for r in remote if r.ticket_ref is not None}
    out.ledger_minutes += sum(ledger.values())
    out.remote_minutes += sum(shown.values())
    for ticket in sorted(set(ledger) | set(shown)):
        mine, theirs = ledger.get(ticket, 0), shown.get(ticket, 0)
        if mine != theirs:
            problem: Problem = "missing" if theirs < mine else "extra"
            detail = "total time spent on the ticket (all months)"
            out.differences.append(
                Difference(client, problem, None, None, ticket, None, mine, theirs, detail)
            )


def _queued(session: Session, ids: list[int]) -> set[int]:
    query = select(OutboxItem.intervention_id).where(
        OutboxItem.intervention_id.in_(ids), OutboxItem.state.in_(PENDING)
    )
    return {i for i in session.scalars(query) if i is not None}


def _diff(
    client: str,
    problem: Problem,
    intervention: Intervention,
    ticket: str | None,
    found: RemoteTimeEntry | None,
    detail: str = "",
) -> Difference:
    return Difference(
        client,
        problem,
        intervention.id,
        intervention.site,
        ticket,
        found.ref if found else None,
        intervention.billed_minutes,
        found.minutes if found else 0,
        detail,
    )
