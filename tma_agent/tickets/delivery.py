"""The exactly-once rules every outbox item follows, whatever it writes (a ticket, a time
entry): claimed as `sent` and committed before it leaves, then `done` with the answer, left
`sent` (retried by the next run) when the ticket system is unavailable, or `parked` (until
`tma requests retry`) when it refuses. Shared by `tickets.outbox` and `billing.sender`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import OutboxItem, OutboxState, utcnow
from tma_agent.tickets._types import TicketError, TicketRefused, TicketUnavailable

__all__ = ["PENDING", "Claim", "attempt", "claim", "sent_lately", "set_state"]

PENDING = (OutboxState.QUEUED, OutboxState.SENT)
T = TypeVar("T")

#: A create whose answer was lost longer ago than this is indexed by every search by now.
_INDEX_LAG = timedelta(minutes=15)


@dataclass(frozen=True)
class Claim:
    #: Found `sent`: an earlier attempt may have reached the ticket system, its answer lost.
    answer_lost: bool
    #: When that earlier attempt was sent.
    sent_at: datetime | None


def claim(item: OutboxItem) -> Claim:
    """Mark the item `sent` in the caller's session; the caller commits before sending."""
    found = Claim(item.state is OutboxState.SENT, item.sent_at)
    item.state, item.sent_at, item.attempts = OutboxState.SENT, utcnow(), item.attempts + 1
    return found


def sent_lately(sent_at: datetime | None) -> bool:
    return sent_at is not None and utcnow() - sent_at < _INDEX_LAG


def set_state(ledger: Ledger, item_id: int, state: OutboxState, answer: str) -> None:
    with ledger.session() as session:
        item = session.get(OutboxItem, item_id)
        if item is not None:
            item.state, item.last_answer = state, answer[:2000]


def attempt(
    ledger: Ledger,
    item_id: int,
    target: str,
    down: set[str],
    errors: list[str],
    send: Callable[[], T],
) -> T | None:
    """`send()` (the item already committed as `sent`); None when it failed, with the item
    left `sent` or `parked` and the reason in `errors`. A ticket system that is unavailable,
    or refuses the credentials, is added to `down`: nothing more is sent to it this run."""
    try:
        return send()
    except TicketUnavailable as exc:
        down.add(target)
        set_state(ledger, item_id, OutboxState.SENT, str(exc))
        errors.append(str(exc))
    except TicketRefused as exc:
        if exc.status in (401, 403):
            down.add(target)  # wrong credentials refuse every write: ask no more this run
        set_state(ledger, item_id, OutboxState.PARKED, str(exc))
        errors.append(f"{exc} (parked: tma requests retry)")
    except TicketError as exc:  # a backend's own subclass: treat as unavailable
        down.add(target)
        set_state(ledger, item_id, OutboxState.SENT, str(exc))
        errors.append(str(exc))
    return None
