"""The bucket of a contract period: bought, carried over, consumed, remaining, overage, and
when it runs out at the current burn rate. All in integer minutes; money in Decimal, rounded
to the cent once, on the total.

Periods are whole months (`periods.period_of`), so a client's billed minutes summed per
`month` are all the arithmetic needs: one grouped query serves every period and every client
(`monthly_consumption`), instead of one query per period walked for the carry-over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tma_agent.billing.periods import add_months, month_of, period_of
from tma_agent.billing.settings import Contract
from tma_agent.ledger.models import Intervention

__all__ = [
    "BucketStatus",
    "bought_minutes",
    "bucket_from_months",
    "bucket_status",
    "consumed_minutes",
    "money",
    "monthly_consumption",
]

_CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _day_minutes(days: Decimal, contract: Contract) -> int:
    return int((days * contract.minutes_per_day).to_integral_value(ROUND_HALF_UP))


def bought_minutes(contract: Contract) -> int:
    return _day_minutes(contract.days, contract)


def consumed_minutes(session: Session, client: str, start: dt.date, end: dt.date) -> int:
    """Billed minutes of the client's live interventions with `spent_on` in [start, end)."""
    query = select(func.coalesce(func.sum(Intervention.billed_minutes), 0)).where(
        Intervention.client == client,
        Intervention.deleted_at.is_(None),
        Intervention.spent_on >= start,
        Intervention.spent_on < end,
    )
    return int(session.scalar(query) or 0)


def monthly_consumption(
    session: Session, clients: Iterable[str] | None = None
) -> dict[str, dict[str, int]]:
    """{client: {"YYYY-MM": billed minutes}} of the live interventions, in one grouped query."""
    query = (
        select(Intervention.client, Intervention.month, func.sum(Intervention.billed_minutes))
        .where(Intervention.deleted_at.is_(None))
        .group_by(Intervention.client, Intervention.month)
    )
    if clients is not None:
        query = query.where(Intervention.client.in_(list(clients)))
    result: dict[str, dict[str, int]] = {}
    for client, month, minutes in session.execute(query):
        result.setdefault(client, {})[month] = int(minutes or 0)
    return result


@dataclass(frozen=True)
class BucketStatus:
    client: str
    period_start: dt.date
    #: First day after the period.
    period_end: dt.date
    bought_minutes: int
    carried_minutes: int
    consumed_minutes: int
    #: What is left (never negative: time past the bucket is `overage_minutes`).
    remaining_minutes: int
    overage_minutes: int
    #: overage hours times `overage_rate`, rounded to the cent; None without a rate.
    overage_amount: Decimal | None
    currency: str
    #: The day the bucket runs out at the period's burn rate so far; None when it does not
    #: run out within the period (or nothing was consumed yet).
    projected_exhaustion: dt.date | None

    @property
    def available_minutes(self) -> int:
        return self.bought_minutes + self.carried_minutes

    @property
    def used_percent(self) -> int:
        """Whole percent of the available bucket consumed (rounded down: 79.9 % is 79)."""
        if self.available_minutes <= 0:
            return 100 if self.consumed_minutes > 0 else 0
        return max(0, self.consumed_minutes) * 100 // self.available_minutes

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "period_start": self.period_start.isoformat(),
            "period_end": (self.period_end - dt.timedelta(days=1)).isoformat(),
            "bought_minutes": self.bought_minutes,
            "carried_minutes": self.carried_minutes,
            "consumed_minutes": self.consumed_minutes,
            "remaining_minutes": self.remaining_minutes,
            "overage_minutes": self.overage_minutes,
            "overage_amount": None if self.overage_amount is None else str(self.overage_amount),
            "currency": self.currency,
            "used_percent": self.used_percent,
            "projected_exhaustion": (
                self.projected_exhaustion.isoformat() if self.projected_exhaustion else None
            ),
        }


def _period_minutes(months: Mapping[str, int], start: dt.date, end: dt.date) -> int:
    total, day = 0, start
    while day < end:
        total += months.get(month_of(day), 0)
        day = add_months(day, 1)
    return total


def _carried_into(months: Mapping[str, int], contract: Contract, start: dt.date) -> int:
    """What the periods before `start` leave to it under the carry-over rule, walking from
    the contract's first period (or the client's first month of work) forward. A period that
    overdrew leaves 0, never a debt: its overage was billed as such."""
    if contract.carry_over.mode == "none":
        return 0
    if contract.start is not None:
        first_day = contract.start
    elif months:
        first_day = dt.date.fromisoformat(min(months) + "-01")
    else:
        return 0
    if first_day >= start:
        return 0
    cap = None
    if contract.carry_over.mode == "capped" and contract.carry_over.max_days is not None:
        cap = _day_minutes(contract.carry_over.max_days, contract)
    bought = bought_minutes(contract)
    carried = 0
    period_start, period_end = period_of(contract, first_day)
    while period_start < start:
        left = max(0, bought + carried - _period_minutes(months, period_start, period_end))
        carried = left if cap is None else min(left, cap)
        period_start, period_end = period_of(contract, period_end)
    return carried


def bucket_from_months(
    client: str, contract: Contract, today: dt.date, months: Mapping[str, int]
) -> BucketStatus:
    """The bucket of the period containing `today`, from the client's minutes per month."""
    start, end = period_of(contract, today)
    bought = bought_minutes(contract)
    carried = _carried_into(months, contract, start)
    consumed = _period_minutes(months, start, end)
    left = bought + carried - consumed
    overage = max(0, -left)
    amount = None
    if contract.overage_rate is not None:
        # Exact until here (minutes / 60 * rate), rounded to the cent once, on the total.
        amount = money(Decimal(overage) * contract.overage_rate / 60)
    return BucketStatus(
        client,
        start,
        end,
        bought,
        carried,
        consumed,
        max(0, left),
        overage,
        amount,
        contract.currency,
        _exhaustion(start, end, today, consumed, max(0, left)),
    )


def bucket_status(
    session: Session, client: str, contract: Contract, today: dt.date
) -> BucketStatus:
    months = monthly_consumption(session, [client]).get(client, {})
    return bucket_from_months(client, contract, today, months)


def _exhaustion(
    start: dt.date, end: dt.date, today: dt.date, consumed: int, remaining: int
) -> dt.date | None:
    elapsed = (min(today, end - dt.timedelta(days=1)) - start).days + 1
    if consumed <= 0 or elapsed <= 0:
        return None
    if remaining == 0:
        return today
    # Days left at the burn rate so far, rounded up to whole days (exact integer arithmetic).
    days_left = -(-remaining * elapsed // consumed)
    day = today + dt.timedelta(days=days_left)
    return day if day < end else None
