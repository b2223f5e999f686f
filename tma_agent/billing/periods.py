"""Contract periods (months, quarters, years from the contract's start) and the timezone that
decides which day, hence which month, a piece of work belongs to."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tma_agent.billing.settings import Contract
from tma_agent.errors import ConfigError

__all__ = ["MONTHS_PER_PERIOD", "add_months", "local_day", "month_of", "period_of", "zone"]

MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3, "yearly": 12}


def zone(name: str | None) -> dt.tzinfo:
    """The configured timezone; None: the machine's."""
    if name is None:
        local = dt.datetime.now().astimezone().tzinfo
        return local if local is not None else dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"timezone: unknown timezone {name!r} (an IANA name: Europe/Paris)"
        ) from None


def local_day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return moment.astimezone(tz).date()


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_of(contract: Contract, day: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end) of the contract period containing `day`. Periods start on the first of a
    month: the contract's `start` month, else January (calendar quarters and years)."""
    length = MONTHS_PER_PERIOD[contract.period]
    anchor = contract.start.replace(day=1) if contract.start else dt.date(2000, 1, 1)
    months = (day.year - anchor.year) * 12 + (day.month - anchor.month)
    first = add_months(anchor, (months // length) * length)
    return first, add_months(first, length)
