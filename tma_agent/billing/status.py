"""`tma contract status`: every client's bucket for the period containing a day, from one
grouped query over the ledger (the bench holds it to 3x a bare SQL aggregate)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tma_agent.billing.bucket import BucketStatus, bucket_from_months, monthly_consumption
from tma_agent.config import Config
from tma_agent.errors import TmaError

__all__ = ["UnknownClient", "contract_statuses", "status_row"]


class UnknownClient(TmaError):
    """A client id given on the command line that the configuration does not have (exit 2)."""


def status_row(
    client: str, name: str, status: BucketStatus | None, hours_per_day: Decimal | None
) -> dict[str, Any]:
    if status is None:
        return {"client": client, "name": name, "contract": False}
    return {"name": name, "contract": True, **status.to_dict(), "hours_per_day": str(hours_per_day)}


def contract_statuses(
    session: Session, config: Config, today: dt.date, client: str | None = None
) -> list[dict[str, Any]]:
    """One row per client (or the one named): its bucket as `BucketStatus.to_dict()` plus
    `name` and `contract: true`, or `contract: false` for a client without a contract."""
    clients = config.clients
    if client is not None:
        clients = [c for c in clients if c.id == client]
        if not clients:
            known = ", ".join(c.id for c in config.clients) or "none configured"
            raise UnknownClient(f"--client {client!r}: no such client ({known})")
    with_contract = [c.id for c in clients if c.contract is not None]
    months = monthly_consumption(session, with_contract) if with_contract else {}
    rows = []
    for c in clients:
        if c.contract is None:
            rows.append(status_row(c.id, c.name, None, None))
            continue
        status = bucket_from_months(c.id, c.contract, today, months.get(c.id, {}))
        rows.append(status_row(c.id, c.name, status, c.contract.hours_per_day))
    return rows
