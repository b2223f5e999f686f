"""`record_intervention`: the one function every capability calls when it did billable work on
a site (an apply, a deploy, a playbook run, `tma time log`)."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from tma_agent.billing.periods import local_day, month_of, zone
from tma_agent.billing.rules import billed_minutes
from tma_agent.billing.time_entries import queue_time_entry
from tma_agent.config import Config
from tma_agent.errors import TmaError
from tma_agent.ledger.models import Intervention, Kind, MonthValidation, utcnow

__all__ = ["MonthLocked", "check_month_open", "record_intervention"]


class MonthLocked(TmaError):
    """A change to a month the client validated (exit 6): corrections are adjustment entries
    in an open month."""

    exit_code = 6


def check_month_open(session: Session, client: str, month: str) -> None:
    validation = session.scalar(
        select(MonthValidation).where(
            MonthValidation.client == client, MonthValidation.month == month
        )
    )
    if validation is not None:
        raise MonthLocked(
            f"{client} {month} was validated by {validation.validated_by} on "
            f"{validation.at.isoformat(timespec='seconds')} (checksum {validation.checksum[:12]}): "
            "it cannot change; record an adjustment in an open month instead"
        )


def _adjustment_minutes(session: Session, client: str, adjusts_id: int, measured: int) -> int:
    """An adjustment corrects billed time by exactly what it says (+ or -): the rules
    (increment, minimum) already shaped the entry it corrects."""
    original = session.get(Intervention, adjusts_id)
    if original is None or original.deleted_at is not None:
        raise TmaError(f"no time entry #{adjusts_id} to adjust (tma time list shows them)")
    if original.client != client:
        raise TmaError(
            f"time entry #{adjusts_id} is {original.client}'s: an adjustment stays with its client"
        )
    if measured == 0:
        raise TmaError("an adjustment of 0 hours changes nothing")
    return measured


def record_intervention(
    session: Session,
    config: Config,
    *,
    site: str,
    kind: Kind | str,
    action: str,
    description: str,
    actor: str,
    started_at: dt.datetime | None = None,
    ended_at: dt.datetime | None = None,
    measured_minutes: int | None = None,
    request_id: int | None = None,
    stack: str | None = None,
    update_kind: str | None = None,
    spent_on: dt.date | None = None,
    adjusts_id: int | None = None,
) -> Intervention:
    """Record one intervention in the caller's unit of work. The measured time is given, or
    the span from `started_at` to `ended_at` rounded up to the minute; the billed time follows
    `billing:`; `spent_on` (default: the day it ended, in `timezone`) picks its month, which
    must not be validated (`MonthLocked`). An adjustment (`adjusts_id`) bills exactly its
    measured minutes, which may be negative."""
    site_config = next((s for s in config.sites if s.id == site), None)
    if site_config is None:
        raise TmaError(f"no site {site!r} in the configuration")
    kind = Kind(kind)
    if measured_minutes is None:
        if started_at is None or ended_at is None:
            raise ValueError("give measured_minutes, or started_at and ended_at")
        measured_minutes = math.ceil((ended_at - started_at).total_seconds() / 60)
    day = spent_on or local_day(ended_at or started_at or utcnow(), zone(config.timezone))
    month = month_of(day)
    check_month_open(session, site_config.client, month)
    if adjusts_id is not None:
        billed = _adjustment_minutes(session, site_config.client, adjusts_id, measured_minutes)
    else:
        billed = billed_minutes(
            measured_minutes,
            config.billing,
            kind=kind.value,
            action=action,
            stack=stack,
            update_kind=update_kind,
        )
    intervention = Intervention(
        client=site_config.client,
        site=site,
        request_id=request_id,
        kind=kind,
        action=action,
        stack=stack,
        update_kind=update_kind,
        description=description,
        actor=actor,
        started_at=started_at,
        ended_at=ended_at,
        measured_minutes=measured_minutes,
        billed_minutes=billed,
        spent_on=day,
        month=month,
        adjusts_id=adjusts_id,
    )
    session.add(intervention)
    session.flush()
    queue_time_entry(session, intervention, "time_create")
    return intervention
