"""Bucket arithmetic as a table of cases, on SQLite and PostgreSQL: periods (monthly,
quarterly, yearly, a contract starting mid-year), carry-over (none, all, capped, a period that
overdrew), overage with and without a rate, Decimal days and hours, projected exhaustion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tma_agent.billing import Contract
from tma_agent.billing.bucket import bucket_status, consumed_minutes, monthly_consumption
from tma_agent.billing.periods import month_of
from tma_agent.ledger import Ledger, make_engine, upgrade_ledger
from tma_agent.ledger.models import Intervention, Kind, utcnow

D = dt.date.fromisoformat


@dataclass
class Case:
    name: str
    contract: dict[str, Any]
    #: (day, billed minutes); a third item True: deleted
    entries: list[tuple[str, int] | tuple[str, int, bool]]
    today: str
    expected: dict[str, Any]
    #: Other days whose status is checked too: {day: {key: value}}
    also: dict[str, dict[str, Any]] = field(default_factory=dict)


CASES = [
    Case(
        "monthly-none",
        {"days": 2, "hours_per_day": 7, "overage_rate": 95},
        [("2026-02-28", 999), ("2026-03-05", 300), ("2026-03-31", 200), ("2026-04-01", 100)],
        "2026-03-10",
        dict(
            period_start="2026-03-01",
            period_end="2026-03-31",
            bought_minutes=840,
            carried_minutes=0,
            consumed_minutes=500,
            remaining_minutes=340,
            overage_minutes=0,
            overage_amount="0.00",
            used_percent=59,
            # 500 minutes in 10 days: 340 more last ceil(6.8) = 7 days
            projected_exhaustion="2026-03-17",
        ),
    ),
    Case(
        "quarterly-calendar",
        {"days": 10, "hours_per_day": "7.5", "period": "quarterly"},
        [("2026-03-31", 7000), ("2026-04-01", 1000), ("2026-06-30", 500), ("2026-07-01", 100)],
        "2026-05-15",
        dict(
            period_start="2026-04-01",
            period_end="2026-06-30",
            bought_minutes=4500,
            carried_minutes=0,
            consumed_minutes=1500,
            remaining_minutes=3000,
            overage_minutes=0,
            overage_amount=None,
            used_percent=33,
            projected_exhaustion=None,
        ),
        also={
            "2026-03-01": dict(
                period_start="2026-01-01",
                consumed_minutes=7000,
                overage_minutes=2500,
                remaining_minutes=0,
                used_percent=155,
                # already out of bucket: it ran out today
                projected_exhaustion="2026-03-01",
            )
        },
    ),
    Case(
        "yearly-from-july",
        {"days": 20, "hours_per_day": 7, "period": "yearly", "start": "2026-07-01"},
        [("2026-06-30", 600), ("2026-07-01", 60), ("2027-01-31", 120), ("2027-07-01", 5)],
        "2027-02-10",
        dict(
            period_start="2026-07-01",
            period_end="2027-06-30",
            bought_minutes=8400,
            carried_minutes=0,
            consumed_minutes=180,
        ),
    ),
    Case(
        "decimal-days-overage-priced",
        {"days": "2.5", "hours_per_day": "7.5", "overage_rate": 95, "currency": "CHF"},
        [("2026-05-02", 600), ("2026-05-03", 600)],
        "2026-05-03",
        dict(
            bought_minutes=1125,
            consumed_minutes=1200,
            remaining_minutes=0,
            overage_minutes=75,
            # 75 / 60 * 95 = 118.75 exactly
            overage_amount="118.75",
            currency="CHF",
            used_percent=106,
        ),
    ),
    Case(
        "overage-rounded-once-on-the-total",
        {"days": 1, "hours_per_day": 7, "overage_rate": "33.33"},
        # 7 minutes over: 7 * 33.33 / 60 = 3.88850 -> 3.89 (not 7 x 0.56 = 3.92)
        [("2026-05-02", 420), ("2026-05-03", 3), ("2026-05-04", 4)],
        "2026-05-04",
        dict(overage_minutes=7, overage_amount="3.89"),
    ),
    Case(
        "overage-unpriced",
        {"days": 1, "hours_per_day": 7},
        [("2026-05-02", 500)],
        "2026-05-20",
        dict(overage_minutes=80, overage_amount=None, remaining_minutes=0),
    ),
    Case(
        "carry-all-three-periods",
        {"days": 1, "hours_per_day": 10, "start": "2026-01-01", "carry_over": {"mode": "all"}},
        [("2026-01-10", 100), ("2026-03-02", 50)],
        "2026-03-15",
        # Jan leaves 500; Feb, nothing used, leaves 1100
        dict(bought_minutes=600, carried_minutes=1100, consumed_minutes=50, remaining_minutes=1650),
        also={"2026-02-01": dict(carried_minutes=500, remaining_minutes=1100)},
    ),
    Case(
        "carry-capped",
        {
            "days": 1,
            "hours_per_day": 10,
            "start": "2026-01-01",
            "carry_over": {"mode": "capped", "max_days": "0.5"},
        },
        [("2026-01-10", 100), ("2026-02-10", 800)],
        "2026-03-15",
        # Jan leaves 500, capped at 300; Feb 600 + 300 - 800 = 100
        dict(carried_minutes=100, remaining_minutes=700),
        also={"2026-02-20": dict(carried_minutes=300, consumed_minutes=800, remaining_minutes=100)},
    ),
    Case(
        "carry-after-an-overdrawn-period-is-zero-not-negative",
        {"days": 1, "hours_per_day": 10, "start": "2026-01-01", "carry_over": {"mode": "all"}},
        [("2026-01-10", 1000)],
        "2026-03-01",
        dict(carried_minutes=600, consumed_minutes=0, projected_exhaustion=None),
        also={
            "2026-01-31": dict(overage_minutes=400),
            "2026-02-01": dict(carried_minutes=0, remaining_minutes=600),
        },
    ),
    Case(
        "carry-without-start-walks-from-the-first-month-of-work",
        {"days": 1, "hours_per_day": 10, "carry_over": {"mode": "all"}},
        [("2025-11-03", 600), ("2025-12-01", 100)],
        "2026-01-05",
        dict(carried_minutes=500),
    ),
    Case(
        "quarterly-from-february-capped",
        {
            "days": 2,
            "hours_per_day": 7,
            "period": "quarterly",
            "start": "2026-02-01",
            "carry_over": {"mode": "capped", "max_days": 1},
        },
        [("2026-01-31", 300), ("2026-02-15", 100), ("2026-04-30", 100), ("2026-05-01", 60)],
        "2026-06-01",
        # Feb-Apr: 840 - 200 = 640 left, capped at 420
        dict(period_start="2026-05-01", period_end="2026-07-31", carried_minutes=420),
    ),
    Case(
        "deleted-entries-and-adjustments",
        {"days": 1, "hours_per_day": 7},
        [("2026-05-02", 300), ("2026-05-03", 120, True), ("2026-05-04", -30)],
        "2026-05-04",
        dict(consumed_minutes=270, remaining_minutes=150),
    ),
    Case(
        "nothing-consumed",
        {"days": 1, "hours_per_day": 7},
        [],
        "2026-05-04",
        dict(consumed_minutes=0, used_percent=0, projected_exhaustion=None),
    ),
]


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    engine = make_engine(database_url)
    upgrade_ledger(engine)
    with Ledger(engine) as opened:
        yield opened


def _add(ledger: Ledger, client: str, entries: list[Any]) -> None:
    with ledger.session() as session:
        for day, minutes, *deleted in entries:
            session.add(
                Intervention(
                    client=client,
                    site=f"{client}-www",
                    kind=Kind.CORRECTIVE,
                    action="manual",
                    description="work",
                    actor="dev",
                    measured_minutes=minutes,
                    billed_minutes=minutes,
                    spent_on=D(day),
                    month=month_of(D(day)),
                    deleted_at=utcnow() if deleted and deleted[0] else None,
                )
            )


def test_bucket_arithmetic(ledger: Ledger) -> None:
    for case in CASES:
        _add(ledger, case.name, case.entries)
    failures = []
    with ledger.session() as session:
        for case in CASES:
            contract = Contract.model_validate(case.contract)
            for day, expected in {case.today: case.expected, **case.also}.items():
                got = bucket_status(session, case.name, contract, D(day)).to_dict()
                wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
                if wrong:
                    failures.append(f"{case.name} on {day}: (got, expected) {wrong}")
    assert not failures, "\n".join(failures)


def test_monthly_sums_equal_the_per_period_query(ledger: Ledger) -> None:
    _add(ledger, "acme", [("2026-01-31", 45), ("2026-02-01", 15), ("2026-02-28", 30, True)])
    with ledger.session() as session:
        assert monthly_consumption(session) == {"acme": {"2026-01": 45, "2026-02": 15}}
        assert consumed_minutes(session, "acme", D("2026-02-01"), D("2026-03-01")) == 15
