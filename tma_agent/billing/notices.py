"""Bucket alerts as notices on the client's ticket project: each alert (a threshold reached
in a period, raised once) queues one outbox item, sent as a ticket of its own whose
fingerprint (`tma:alert:<client>:<period start>:<threshold>`) makes it exactly once: searched
before the create like every ticket the agent opens. The ledger and webhook backends get it
too (the webhook receiver as a `ticket.created` event)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from tma_agent.billing.alerts import Alert
from tma_agent.config import Config
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import OutboxItem, OutboxState
from tma_agent.tickets._backend import TicketBackend
from tma_agent.tickets._types import TicketDraft, marker_line
from tma_agent.tickets.delivery import PENDING, attempt, claim
from tma_agent.tickets.targets import Backends

__all__ = ["NOTICE", "NoticeReport", "queue_draft", "queue_notice", "send_notices"]

NOTICE = "notice"


def _fingerprint(alert: Alert) -> str:
    return f"tma:alert:{alert.client}:{alert.period_start.isoformat()}:{alert.threshold}"


def queue_notice(session: Session, config: Config, alert: Alert) -> None:
    """In the unit of work that records the alert: both or neither."""
    site = next((s.id for s in config.sites if s.client == alert.client), alert.client)
    fingerprint = _fingerprint(alert)
    bucket = alert.status
    body = "\n".join(
        [
            f"The maintenance bucket of `{alert.client}` reached {alert.threshold} % "
            f"({alert.used_percent} % used) in the period starting {alert.period_start.isoformat()}.",
            "",
            f"- bought: {bucket.bought_minutes // 60} h {bucket.bought_minutes % 60:02d}",
            f"- carried over: {bucket.carried_minutes // 60} h {bucket.carried_minutes % 60:02d}",
            f"- consumed: {bucket.consumed_minutes // 60} h {bucket.consumed_minutes % 60:02d}",
            f"- overage: {bucket.overage_minutes // 60} h {bucket.overage_minutes % 60:02d}",
            "",
            marker_line(fingerprint),
        ]
    )
    draft = TicketDraft(
        fingerprint=fingerprint,
        title=f"[TMA] {alert.client}: {alert.threshold} % of the bucket used",
        description=body,
        site=site,
        client=alert.client,
        kind="preventive",
        priority="high" if alert.threshold >= 100 else "normal",
        estimate_minutes=60,
        labels=("tma", "bucket-alert"),
    )
    queue_draft(session, draft)


def queue_draft(session: Session, draft: TicketDraft) -> str:
    """Queue the notice ticket `draft` in the caller's unit of work; its idempotency key."""
    key = f"{NOTICE}:{draft.fingerprint}"
    session.add(
        OutboxItem(
            request_id=None,
            intervention_id=None,
            operation=NOTICE,
            payload={"draft": asdict(draft), "client": draft.client},
            idempotency_key=key,
            state=OutboxState.QUEUED,
        )
    )
    return key


@dataclass
class NoticeReport:
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _open(backend: TicketBackend, draft: TicketDraft) -> str:
    """The notice's ticket: the one carrying its fingerprint (a lost answer, a lost ledger),
    else a new one."""
    found = backend.find(draft.fingerprint)
    return (found or backend.create(draft)).ref


def send_notices(
    ledger: Ledger, backends: Backends, *, keys: list[str] | None = None
) -> NoticeReport:
    """Send the queued notices (only those of idempotency `keys` when given). One process at
    a time (the `notices` lock): two senders finding the same item would both look for its
    ticket before either had created it. When another process holds it, nothing is sent here:
    that one sends them."""
    from tma_agent.ledger.locks import LockHeld, hold_lock

    try:
        with hold_lock(ledger, "notices"):
            return _send_all(ledger, backends, keys)
    except LockHeld:
        return NoticeReport()


def _send_all(ledger: Ledger, backends: Backends, keys: list[str] | None) -> NoticeReport:
    report = NoticeReport()
    query = select(OutboxItem.id).where(
        OutboxItem.state.in_(PENDING), OutboxItem.operation == NOTICE
    )
    if keys is not None:
        query = query.where(OutboxItem.idempotency_key.in_(keys))
    with ledger.session() as session:
        pending = list(session.scalars(query.order_by(OutboxItem.id)))
    down: set[str] = set()
    for item_id in pending:
        with ledger.session() as session:
            item = session.get(OutboxItem, item_id)
            if item is None or item.state not in PENDING:
                continue
            raw = dict(item.payload["draft"])
            draft = TicketDraft(**{**raw, "labels": tuple(raw.get("labels") or ())})
            target, _, backend = backends.backend(draft.client)
            if target in down:
                continue
            claim(item)

        ref = attempt(ledger, item_id, target, down, report.errors, partial(_open, backend, draft))
        if ref is not None:
            with ledger.session() as session:
                done = session.get(OutboxItem, item_id)
                if done is not None:
                    done.state, done.last_answer = OutboxState.DONE, f"ticket {ref}"
            report.sent.append(ref)
    return report
