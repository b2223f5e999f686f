"""Validating a month: the report's document is frozen in a `MonthValidation` row (who, when,
the checksum of its entries). A validated month's report is built from that row alone, so a
later change to the configuration (a client renamed, a new rate) cannot alter it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tma_agent.billing.record import MonthLocked
from tma_agent.billing.report.data import checksum, gather, month_bounds
from tma_agent.billing.report.notice import queue_month_notice
from tma_agent.config import Config
from tma_agent.ledger.models import MonthValidation, utcnow

__all__ = ["AlreadyValidated", "report_document", "validate_month"]


class AlreadyValidated(MonthLocked):
    """The month was validated before (exit 6, naming who and when)."""


def _validation(session: Session, client: str, month: str) -> MonthValidation | None:
    return session.scalar(
        select(MonthValidation).where(
            MonthValidation.client == client, MonthValidation.month == month
        )
    )


def _stamp(validation: MonthValidation) -> dict[str, Any]:
    return {
        "validated": True,
        "by": validation.validated_by,
        "at": validation.at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "source": validation.source,
        "checksum": validation.checksum,
    }


def report_document(session: Session, config: Config, client: str, month: str) -> dict[str, Any]:
    """The document to render: the frozen one of a validated month, else a draft gathered now
    (its checksum is that of the entries as they are now, and says nothing yet)."""
    month_bounds(month)
    validation = _validation(session, client, month)
    if validation is not None:
        return {**validation.frozen, "validation": _stamp(validation)}
    document = gather(session, config, client, month)
    return {
        **document,
        "validation": {
            "validated": False,
            "by": None,
            "at": None,
            "source": None,
            "checksum": checksum(document["entries"]),
        },
    }


def validate_month(
    session: Session, config: Config, client: str, month: str, by: str, *, source: str = "cli"
) -> MonthValidation:
    """Freeze the month in the caller's unit of work, and queue its notice to the client's
    ticket system in the same one (`report.notice`: both or neither). The unique (client,
    month) constraint makes a concurrent second validation fail rather than freeze twice."""

    month_bounds(month)
    earlier = _validation(session, client, month)
    if earlier is not None:
        raise AlreadyValidated(
            f"{client} {month} is already validated by {earlier.validated_by} on "
            f"{earlier.at.isoformat(timespec='seconds')} (checksum {earlier.checksum[:12]})"
        )
    document = gather(session, config, client, month)
    validation = MonthValidation(
        client=client,
        month=month,
        validated_by=by,
        source=source,
        # Whole seconds: the time shown in the report and set in the PDF's metadata.
        at=utcnow().replace(microsecond=0),
        checksum=checksum(document["entries"]),
        frozen=document,
    )
    session.add(validation)
    try:
        session.flush()
    except IntegrityError:
        raise AlreadyValidated(
            f"{client} {month} was validated at the same moment by another process"
        ) from None
    queue_month_notice(session, config, validation)
    return validation
