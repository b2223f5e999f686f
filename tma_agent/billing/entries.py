"""Time entries by hand: `tma time log`, `tma time edit`, `tma time delete`. Each goes through
the ledger in one unit of work with its ticket time-entry write (the outbox), and only while
the months it touches are open (`MonthLocked`, exit 6)."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from tma_agent.billing.periods import month_of
from tma_agent.billing.record import check_month_open, record_intervention
from tma_agent.billing.rules import billed_minutes
from tma_agent.billing.time_entries import queue_time_entry
from tma_agent.config import Config
from tma_agent.errors import TmaError
from tma_agent.ledger.models import Intervention, Kind, utcnow

__all__ = ["EntryError", "default_actor", "delete_time", "edit_time", "log_time", "parse_hours"]

#: One intervention is at most a day's work; more is a typo (15 for 1.5) far more often.
MAX_HOURS = Decimal(24)


class EntryError(TmaError):
    """Bad input for a time entry (exit 2): the message names what is wrong."""


def parse_hours(text: str, *, signed: bool = False) -> int:
    """Exact minutes from `1.5`, `0.25`, `2`, or `-0.5` when `signed` (an adjustment).
    Refused: 0, more than 24 h, and anything finer than a minute (0.01 h is 36 seconds)."""
    try:
        hours = Decimal(text.strip())
    except InvalidOperation:
        raise EntryError(f"--hours {text!r}: not a number of hours (1.5 is 1 h 30)") from None
    if not hours.is_finite():
        raise EntryError(f"--hours {text!r}: not a number of hours (1.5 is 1 h 30)")
    if hours < 0 and not signed:
        raise EntryError(f"--hours {text}: negative hours are only for an adjustment (--adjusts)")
    if hours == 0:
        raise EntryError("--hours 0: an entry needs some time")
    if abs(hours) > MAX_HOURS:
        raise EntryError(f"--hours {text}: more than {MAX_HOURS} h in one entry")
    minutes = hours * 60
    if minutes != minutes.to_integral_value():
        raise EntryError(
            f"--hours {text}: {minutes.normalize()} minutes; give whole minutes (0.25 h = 15 min)"
        )
    return int(minutes)


def parse_day(text: str, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise EntryError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from None


def default_actor() -> str:
    """`$TMA_USER`, else the login name."""
    return os.environ.get("TMA_USER") or getpass.getuser()


def log_time(
    session: Session,
    config: Config,
    *,
    site: str,
    minutes: int,
    kind: str,
    description: str,
    actor: str,
    day: dt.date,
    action: str = "manual",
    request_id: int | None = None,
    adjusts_id: int | None = None,
) -> Intervention:
    if not description.strip():
        raise EntryError("say what was done (the entry's description)")
    if minutes < 0 and adjusts_id is None:
        raise EntryError("negative hours are only for an adjustment (--adjusts)")
    site_config = next((s for s in config.sites if s.id == site), None)
    if site_config is None:
        raise EntryError(f"--site {site!r}: no such site in the configuration")
    if adjusts_id is not None:
        _check_adjustable(session, adjusts_id)
    return record_intervention(
        session,
        config,
        site=site,
        kind=kind,
        action=action,
        description=description.strip(),
        actor=actor,
        measured_minutes=minutes,
        request_id=request_id,
        spent_on=day,
        adjusts_id=adjusts_id,
    )


def _check_adjustable(session: Session, adjusts_id: int) -> None:
    original = _live(session, adjusts_id)
    try:
        check_month_open(session, original.client, original.month)
    except TmaError:
        return  # validated: an adjustment is the only way to correct it
    raise EntryError(
        f"time entry #{adjusts_id} is in {original.month}, still open: "
        f"edit it (tma time edit {adjusts_id}) instead of adjusting it"
    )


def _live(session: Session, entry_id: int) -> Intervention:
    entry = session.get(Intervention, entry_id)
    if entry is None or entry.deleted_at is not None:
        raise EntryError(f"no time entry #{entry_id} (tma time list shows them)")
    return entry


def edit_time(
    session: Session,
    config: Config,
    entry_id: int,
    *,
    minutes: int | None = None,
    kind: str | None = None,
    day: dt.date | None = None,
    description: str | None = None,
    actor: str | None = None,
) -> Intervention:
    """Change an entry of an open month (and, when it moves, into an open month): the billed
    time follows the rules again, the revision is bumped and the ticket entry updated."""
    entry = _live(session, entry_id)
    check_month_open(session, entry.client, entry.month)
    if day is not None and month_of(day) != entry.month:
        check_month_open(session, entry.client, month_of(day))
    if minutes is not None:
        if minutes < 0 and entry.adjusts_id is None:
            raise EntryError("negative hours are only for an adjustment (--adjusts)")
        entry.measured_minutes = minutes
    if kind is not None:
        entry.kind = Kind(kind)
    if day is not None:
        entry.spent_on, entry.month = day, month_of(day)
    if description is not None:
        if not description.strip():
            raise EntryError("--description: say what was done")
        entry.description = description.strip()
    if actor is not None:
        entry.actor = actor
    if entry.adjusts_id is not None:
        entry.billed_minutes = entry.measured_minutes
    else:
        entry.billed_minutes = billed_minutes(
            entry.measured_minutes,
            config.billing,
            kind=entry.kind.value,
            action=entry.action,
            stack=entry.stack,
            update_kind=entry.update_kind,
        )
    entry.revision += 1
    queue_time_entry(session, entry, "time_update")
    return entry


def delete_time(session: Session, entry_id: int) -> Intervention:
    """Hide an entry of an open month (kept: its ticket time entry must be removed too)."""
    entry = _live(session, entry_id)
    check_month_open(session, entry.client, entry.month)
    entry.deleted_at = utcnow()
    entry.revision += 1
    queue_time_entry(session, entry, "time_delete")
    return entry
