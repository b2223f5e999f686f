"""What a monthly report says, gathered from the ledger as one plain document (strings, ints,
lists): the same document a validation freezes, so a validated month renders from it alone.
Money and contract terms are Decimal strings; time is integer minutes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tma_agent.billing.bucket import bought_minutes, bucket_status, money
from tma_agent.billing.periods import add_months
from tma_agent.billing.settings import Contract
from tma_agent.config import Config
from tma_agent.errors import TmaError
from tma_agent.ledger.models import Intervention, Request

__all__ = ["DOCUMENT_VERSION", "ReportInputError", "checksum", "gather", "month_bounds"]

#: Bumped when the frozen document changes shape (renderers read every older version).
DOCUMENT_VERSION = 1
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ReportInputError(TmaError):
    """A bad --client or --month (exit 2, one line)."""

    exit_code = 2


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """[first day, first day of the next month) of `YYYY-MM`."""
    match = _MONTH.match(month)
    if not match:
        raise ReportInputError(f"--month {month!r}: expected YYYY-MM, such as 2026-03")
    first = dt.date(int(match[1]), int(match[2]), 1)
    return first, add_months(first, 1)


def checksum(entries: list[dict[str, Any]]) -> str:
    """sha256 of the entries' canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(entries, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _entries(session: Session, client: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    # Plain columns, not ORM objects: a report of thousands of rows stays cheap (bench).
    adjusted = select(Intervention.id, Intervention.month).subquery()
    query = (
        select(
            Intervention.id,
            Intervention.spent_on,
            Intervention.site,
            Request.fingerprint,
            Request.ticket_ref,
            Intervention.kind,
            Intervention.description,
            Intervention.actor,
            Intervention.billed_minutes,
            Intervention.adjusts_id,
            adjusted.c.month,
        )
        .outerjoin(Request, Request.id == Intervention.request_id)
        .outerjoin(adjusted, adjusted.c.id == Intervention.adjusts_id)
        .where(
            Intervention.client == client,
            Intervention.deleted_at.is_(None),
            Intervention.spent_on >= start,
            Intervention.spent_on < end,
        )
        .order_by(Intervention.spent_on, Intervention.id)
    )
    return [
        {
            "id": row[0],
            "date": row[1].isoformat(),
            "site": row[2],
            "request": row[4] or row[3],
            "kind": str(row[5]),
            "description": row[6],
            "who": row[7],
            "billed_minutes": row[8],
            "adjusts": None if row[9] is None else {"id": row[9], "month": row[10]},
        }
        for row in session.execute(query)
    ]


def _contract_terms(contract: Contract) -> dict[str, Any]:
    return {
        "days": str(contract.days),
        "hours_per_day": str(contract.hours_per_day),
        "period": contract.period,
        "start": contract.start.isoformat() if contract.start else None,
        "carry_over": {
            "mode": contract.carry_over.mode,
            "max_days": (
                None if contract.carry_over.max_days is None else str(contract.carry_over.max_days)
            ),
        },
        "overage_rate": None if contract.overage_rate is None else str(contract.overage_rate),
        "currency": contract.currency,
    }


def _bucket(
    session: Session, client: str, contract: Contract, first: dt.date, end: dt.date
) -> dict[str, Any]:
    """The bucket of the period containing the month, as it stood at the month's end: later
    months of a quarterly or yearly period do not count in this month's report."""
    status = bucket_status(session, client, contract, first)
    daily = session.execute(
        select(Intervention.spent_on, func.sum(Intervention.billed_minutes))
        .where(
            Intervention.client == client,
            Intervention.deleted_at.is_(None),
            Intervention.spent_on >= status.period_start,
            Intervention.spent_on < end,
        )
        .group_by(Intervention.spent_on)
        .order_by(Intervention.spent_on)
    ).all()
    available = bought_minutes(contract) + status.carried_minutes
    before = sum(int(m) for day, m in daily if day < first)
    consumed = sum(int(m) for _day, m in daily)
    overage = max(0, consumed - available)
    amount = None
    if contract.overage_rate is not None:
        amount = str(money(contract.overage_rate * overage / 60))
    # Remaining after each day with work, from the period's start: the burn-down's points.
    points, running = [[status.period_start.isoformat(), available]], available
    for day, minutes in daily:
        running -= int(minutes)
        points.append([day.isoformat(), running])
    return {
        "period_start": status.period_start.isoformat(),
        "period_end": (status.period_end - dt.timedelta(days=1)).isoformat(),
        "bought_minutes": status.bought_minutes,
        "carried_minutes": status.carried_minutes,
        "available_minutes": available,
        "at_month_start_minutes": available - before,
        "consumed_before_minutes": before,
        "consumed_minutes": consumed - before,
        "remaining_minutes": max(0, available - consumed),
        "overage_minutes": overage,
        "overage_amount": amount,
        "burndown": points,
    }


def gather(session: Session, config: Config, client_id: str, month: str) -> dict[str, Any]:
    """The report document of a month not validated (a draft): read from the ledger and the
    current configuration."""
    first, end = month_bounds(month)
    client = next((c for c in config.clients if c.id == client_id), None)
    if client is None:
        known = ", ".join(c.id for c in config.clients) or "none"
        raise ReportInputError(f"--client {client_id!r}: no such client (known: {known})")
    entries = _entries(session, client.id, first, end)
    contract = client.contract
    return {
        "version": DOCUMENT_VERSION,
        "client": {"id": client.id, "name": client.name},
        "month": month,
        "contract": None if contract is None else _contract_terms(contract),
        "entries": entries,
        "bucket": None if contract is None else _bucket(session, client.id, contract, first, end),
    }
