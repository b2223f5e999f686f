"""Billing rules as tables: billed minutes from measured ones (increment, minimum, flat rules,
non-billable kinds), and the exact hours a developer types."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tma_agent.billing import BillingSettings, Contract
from tma_agent.billing.bucket import bought_minutes, money
from tma_agent.billing.entries import EntryError, parse_hours
from tma_agent.billing.listing import hours_text
from tma_agent.billing.rules import billed_minutes, hours_to_minutes

AGENCY = BillingSettings.model_validate(
    {
        "increment_minutes": 15,
        "minimum_minutes": 30,
        "flat": [
            {"action": "apply", "stack": "drupal", "update": "security", "hours": 1},
            {"action": "apply", "stack": "wordpress", "hours": "0.75"},
            {"action": "deploy", "hours": "0.1"},
        ],
        "non_billable": ["evolutive"],
    }
)


@pytest.mark.parametrize(
    ("measured", "kind", "action", "stack", "update", "billed"),
    [
        # max(minimum, measured rounded up to the increment)
        (0, "corrective", "manual", None, None, 30),
        (1, "corrective", "manual", None, None, 30),
        (30, "corrective", "manual", None, None, 30),
        (31, "corrective", "manual", None, None, 45),
        (45, "preventive", "manual", None, None, 45),
        (46, "preventive", "manual", None, None, 60),
        (61, "preventive", "apply", "drupal", "minor", 75),
        (600, "corrective", "manual", None, None, 600),
        # a flat rule replaces the measured time, whatever it was
        (3, "preventive", "apply", "drupal", "security", 60),
        (500, "preventive", "apply", "drupal", "security", 60),
        (500, "preventive", "apply", "wordpress", None, 45),
        (500, "preventive", "apply", "wordpress", "major", 45),
        (1, "corrective", "deploy", "magento", "patch", 6),
        # the rule's stack and update must match when given
        (10, "preventive", "apply", "magento", "security", 30),
        (90, "preventive", "manual", "drupal", "security", 90),
        # non-billable kinds: recorded, billed 0, even when a flat rule matches
        (120, "evolutive", "manual", None, None, 0),
        (5, "evolutive", "apply", "drupal", "security", 0),
    ],
)
def test_billed_minutes(
    measured: int, kind: str, action: str, stack: str | None, update: str | None, billed: int
) -> None:
    got = billed_minutes(
        measured, AGENCY, kind=kind, action=action, stack=stack, update_kind=update
    )
    assert got == billed


def test_the_defaults_bill_quarter_hours_with_a_quarter_hour_minimum() -> None:
    defaults = BillingSettings()
    assert [
        billed_minutes(m, defaults, kind="corrective", action="manual") for m in (1, 15, 16)
    ] == [
        15,
        15,
        30,
    ]
    assert defaults.alerts == [80, 100]


def test_a_negative_measure_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        billed_minutes(-1, AGENCY, kind="corrective", action="manual")


def test_an_increment_of_one_minute_bills_the_measure() -> None:
    exact = BillingSettings(increment_minutes=1, minimum_minutes=0)
    assert billed_minutes(7, exact, kind="corrective", action="manual") == 7
    assert billed_minutes(0, exact, kind="corrective", action="manual") == 0


@pytest.mark.parametrize(
    ("text", "signed", "minutes"),
    [
        ("1.5", False, 90),
        ("0.25", False, 15),
        ("2", False, 120),
        ("24", False, 1440),
        ("0.05", False, 3),
        ("1.0166666", False, None),
        ("-0.5", True, -30),
        ("-24", True, -1440),
    ],
)
def test_hours_are_exact_minutes(text: str, signed: bool, minutes: int | None) -> None:
    if minutes is None:
        with pytest.raises(EntryError, match="whole minutes"):
            parse_hours(text, signed=signed)
    else:
        assert parse_hours(text, signed=signed) == minutes


@pytest.mark.parametrize(
    ("text", "signed", "message"),
    [
        ("0", False, "--hours 0: an entry needs some time"),
        ("0", True, "--hours 0: an entry needs some time"),
        ("500", False, "--hours 500: more than 24 h in one entry"),
        ("24.01", False, "more than 24 h"),
        ("-0.5", False, "only for an adjustment (--adjusts)"),
        ("0.01", False, "0.6 minutes; give whole minutes"),
        ("1,5", False, "not a number of hours"),
        ("abc", False, "not a number of hours"),
        ("nan", False, "not a number of hours"),
        ("inf", False, "not a number of hours"),
    ],
)
def test_bad_hours_say_what_is_wrong(text: str, signed: bool, message: str) -> None:
    with pytest.raises(EntryError) as caught:
        parse_hours(text, signed=signed)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("days", "hours_per_day", "minutes"),
    [("10", "7", 4200), ("2.5", "7.5", 1125), ("0.5", "7", 210), ("1", "7.75", 465)],
)
def test_decimal_days_buy_exact_minutes(days: str, hours_per_day: str, minutes: int) -> None:
    contract = Contract.model_validate({"days": days, "hours_per_day": hours_per_day})
    assert bought_minutes(contract) == minutes


def test_a_flat_rule_in_hours_rounds_up_to_the_minute() -> None:
    assert hours_to_minutes(Decimal("1.01")) == 61
    assert hours_to_minutes(Decimal("0.1")) == 6


def test_money_rounds_half_up_to_the_cent_once() -> None:
    assert money(Decimal("118.745")) == Decimal("118.75")
    assert money(Decimal(1) * Decimal("33.33") / 60) == Decimal("0.56")
    assert [hours_text(m) for m in (0, 20, 90, -30, 1441)] == [
        "0:00",
        "0:20",
        "1:30",
        "-0:30",
        "24:01",
    ]
