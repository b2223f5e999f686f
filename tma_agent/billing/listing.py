"""`tma time list`: the entries of the ledger as rows (table, JSON, CSV) and their totals,
summed by the database so they equal the ledger's to the minute."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tma_agent.ledger.models import Intervention, Request

__all__ = ["CSV_COLUMNS", "entries_csv", "hours_text", "list_entries"]

#: Columns of `--format csv`, in order (README: Time and contracts).
CSV_COLUMNS = (
    "id",
    "date",
    "month",
    "client",
    "site",
    "request",
    "kind",
    "action",
    "by",
    "measured_minutes",
    "billed_minutes",
    "billed_hours",
    "adjusts",
    "deleted",
    "description",
)


def hours_text(minutes: int) -> str:
    """`1:30`, `-0:30`: exact (minutes / 60 has no finite decimal form for 20 minutes)."""
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


def _conditions(
    client: str | None, site: str | None, month: str | None, deleted: bool
) -> list[ColumnElement[bool]]:
    conditions = []
    if client is not None:
        conditions.append(Intervention.client == client)
    if site is not None:
        conditions.append(Intervention.site == site)
    if month is not None:
        conditions.append(Intervention.month == month)
    if not deleted:
        conditions.append(Intervention.deleted_at.is_(None))
    return conditions


def list_entries(
    session: Session,
    *,
    client: str | None = None,
    site: str | None = None,
    month: str | None = None,
    deleted: bool = False,
) -> dict[str, Any]:
    """{"entries": [...], "totals": {...}}; totals count live entries only (deleted ones,
    shown with `deleted`, bill nothing)."""
    query = (
        select(Intervention, Request.fingerprint, Request.ticket_ref)
        .outerjoin(Request, Request.id == Intervention.request_id)
        .where(*_conditions(client, site, month, deleted))
        .order_by(Intervention.spent_on, Intervention.id)
    )
    entries = [
        {
            "id": i.id,
            "date": i.spent_on.isoformat(),
            "month": i.month,
            "client": i.client,
            "site": i.site,
            "request": None if i.request_id is None else (ticket or fingerprint),
            "request_id": i.request_id,
            "kind": i.kind.value,
            "action": i.action,
            "by": i.actor,
            "measured_minutes": i.measured_minutes,
            "billed_minutes": i.billed_minutes,
            "adjusts": i.adjusts_id,
            "deleted": i.deleted_at is not None,
            "revision": i.revision,
            "description": i.description,
        }
        for i, fingerprint, ticket in session.execute(query)
    ]
    count, measured, billed = session.execute(
        select(
            func.count(Intervention.id),
            func.coalesce(func.sum(Intervention.measured_minutes), 0),
            func.coalesce(func.sum(Intervention.billed_minutes), 0),
        ).where(*_conditions(client, site, month, deleted=False))
    ).one()
    totals = {
        "entries": int(count),
        "measured_minutes": int(measured),
        "billed_minutes": int(billed),
    }
    return {"entries": entries, "totals": totals}


def entries_csv(
    listing: dict[str, Any], *, delimiter: str = ",", bom: bool = False, totals: bool = False
) -> str:
    """A spreadsheet's CSV: UTF-8 (with a BOM for Excel when asked), a header row, minutes as
    integers and hours as H:MM; `totals` adds a last row `total` summing the live entries."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in listing["entries"]:
        row = {**e, "billed_hours": hours_text(e["billed_minutes"])}
        row["deleted"] = "yes" if e["deleted"] else ""
        writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])
    if totals:
        t = listing["totals"]
        row = {
            "id": "total",
            "measured_minutes": t["measured_minutes"],
            "billed_minutes": t["billed_minutes"],
            "billed_hours": hours_text(t["billed_minutes"]),
        }
        writer.writerow([row.get(c, "") for c in CSV_COLUMNS])
    return ("\ufeff" if bom else "") + out.getvalue()
