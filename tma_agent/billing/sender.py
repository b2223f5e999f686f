"""Sending the outbox's time entries (`time_create`, `time_update`, `time_delete`, one
intervention each) to the client's ticket system, under the outbox's exactly-once rules
(`tma_agent.tickets.delivery`): claimed as `sent` and committed before it leaves; a create
found `sent` (its answer lost: a crash, a SIGKILL, a timeout) is first looked for by the
delivery id its comment carries (`find_time`) and never logged twice.

An intervention's items go in order; one that cannot be sent holds back the later ones. An
intervention whose request has no ticket yet waits for it (the request outbox goes first). A
backend that keeps no time (GitHub, webhook, ledger) marks its items done, "keeps no time".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

import structlog
from sqlalchemy import select

from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Intervention, OutboxItem, OutboxState, Request
from tma_agent.tickets._time import NoTicketToLogOn, TimeEntry, TimeKeeper
from tma_agent.tickets.delivery import PENDING, Claim, attempt, claim
from tma_agent.tickets.targets import Backends

__all__ = ["TIME_OPERATIONS", "TimeReport", "entry_of", "send_time_entries"]

log = structlog.get_logger()

TIME_OPERATIONS = ("time_create", "time_update", "time_delete")


@dataclass
class TimeReport:
    #: Intervention ids whose time entries went through this run, with the operations done.
    done: dict[int, list[str]] = field(default_factory=dict)
    #: Items left queued because their request has no ticket yet.
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    item_id: int
    operation: str
    key: str
    entry: TimeEntry
    ticket: str | None
    entry_ref: str | None
    claimed: Claim


def entry_of(payload: dict[str, object]) -> TimeEntry:
    """The time entry as recorded when the write was queued (`billing.time_entries`)."""
    return TimeEntry(
        intervention_id=int(cast(int, payload["intervention"])),
        minutes=int(cast(int, payload["minutes"])),
        spent_on=dt.date.fromisoformat(str(payload["spent_on"])),
        comment=str(payload.get("description") or ""),
        activity=str(payload["kind"]),
        user=str(payload.get("actor") or ""),
        client=str(payload["client"]),
        site=str(payload["site"]),
    )


def send_time_entries(ledger: Ledger, backends: Backends) -> TimeReport:
    """Send every queued time entry (`tma run`, `tma time sync`, `tma requests retry`, and
    after `tma time log/edit/delete`). One process at a time (the `time-entries` lock,
    `LockHeld` otherwise): a second sender would take the first one's item in flight for a
    lost answer, find nothing yet, and log it twice."""
    from tma_agent.ledger.locks import hold_lock

    with hold_lock(ledger, "time-entries"):
        return _send_all(ledger, backends)


def _send_all(ledger: Ledger, backends: Backends) -> TimeReport:
    report = TimeReport()
    with ledger.session() as session:
        query = select(OutboxItem.id, OutboxItem.intervention_id).where(
            OutboxItem.state.in_(PENDING), OutboxItem.intervention_id.is_not(None)
        )
        pending = list(session.execute(query.order_by(OutboxItem.id)))
    held: set[int | None] = set()
    down: set[str] = set()
    for item_id, intervention_id in pending:
        if intervention_id in held:
            continue
        if not _send_one(ledger, item_id, backends, down, report):
            held.add(intervention_id)
    return report


def _send_one(
    ledger: Ledger, item_id: int, backends: Backends, down: set[str], report: TimeReport
) -> bool:
    with ledger.session() as session:
        item = session.get(OutboxItem, item_id)
        if item is None or item.state not in PENDING:
            return True  # another process finished it
        intervention = session.get(Intervention, item.intervention_id)
        if intervention is None:
            return False
        target, info, backend = backends.backend(intervention.client)
        if not info.tracks_time:
            item.state, item.last_answer = OutboxState.DONE, f"{info.name} keeps no time"
            return True
        if target in down:
            return False
        request = session.get(Request, intervention.request_id) if intervention.request_id else None
        if request is not None and request.ticket_ref is None:
            report.waiting += 1
            return False  # its ticket is not open yet: the request outbox comes first
        job = _Job(
            item_id,
            item.operation,
            item.idempotency_key,
            entry_of(dict(item.payload)),
            request.ticket_ref if request is not None else None,
            intervention.time_entry_ref,
            claim(item),
        )
    # Committed as `sent` before it leaves: from here a crash means "maybe delivered".
    keeper = cast(TimeKeeper, backend)
    result = attempt(ledger, item_id, target, down, report.errors, lambda: _deliver(keeper, job))
    if result is None:
        return False
    answer, entry_ref = result
    with ledger.session() as session:
        done = session.get(OutboxItem, item_id)
        kept = session.get(Intervention, job.entry.intervention_id)
        if done is not None:
            done.state, done.last_answer = OutboxState.DONE, answer
        if kept is not None:
            kept.time_entry_ref, kept.time_entry_backend = entry_ref, info.name
    log.info("time entry sent", operation=job.operation, ref=entry_ref, answer=answer)
    report.done.setdefault(job.entry.intervention_id, []).append(job.operation)
    return True


def _deliver(keeper: TimeKeeper, job: _Job) -> tuple[str, str | None]:
    """(the answer, the entry's id after this write)."""
    entry, ref = job.entry, job.entry_ref
    if job.claimed.answer_lost and ref is not None and job.operation != "time_create":
        # An edit or delete whose answer was lost: its delivery id shows whether it landed
        # (a backend that spends differences, GitLab, must not spend one twice).
        landed = keeper.find_time(job.key, job.ticket, spent_on=entry.spent_on)
        if landed is not None:
            gone = job.operation == "time_delete" or entry.minutes <= 0
            return "delivered before", None if gone else landed
    if job.operation == "time_delete" or (job.operation == "time_update" and entry.minutes <= 0):
        if ref is None:
            return "no time entry to delete", None
        keeper.delete_time(ref, job.key)
        return "deleted", None
    if job.operation == "time_create" and ref is not None:
        return "logged before", ref
    if job.operation == "time_update" and ref is not None:
        return "updated", keeper.update_time(ref, entry, job.key)
    if job.operation not in ("time_create", "time_update"):
        return f"unknown operation {job.operation!r}: ignored", ref
    # A create, or an update of an entry never logged (it was billed 0, or kept nowhere).
    if entry.minutes <= 0:
        return "0 minutes billed: nothing to log", None
    if job.claimed.answer_lost:
        found = keeper.find_time(job.key, job.ticket, spent_on=entry.spent_on)
        if found is not None:
            log.info("time entry found by delivery id", key=job.key, ref=found)
            return "found by delivery id", found
    try:
        return "logged", keeper.log_time(job.ticket, entry, job.key)
    except NoTicketToLogOn:
        return "no ticket to log on", None
