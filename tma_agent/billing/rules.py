"""Billed minutes from measured minutes: the billing rules, one intervention at a time."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal

from tma_agent.billing.settings import BillingSettings

__all__ = ["billed_minutes", "hours_to_minutes"]


def hours_to_minutes(hours: Decimal) -> int:
    """Whole minutes, rounded up: 1.01 h is 61 minutes, never 60.6."""
    return int((hours * 60).to_integral_value(rounding=ROUND_CEILING))


def billed_minutes(
    measured: int,
    billing: BillingSettings,
    *,
    kind: str,
    action: str,
    stack: str | None = None,
    update_kind: str | None = None,
) -> int:
    """0 for a non-billable kind; the first flat rule matching (action, stack, update kind)
    replaces the measured time; else max(minimum, measured rounded up to the increment)."""
    if measured < 0:
        raise ValueError("a measured duration cannot be negative")
    if kind in billing.non_billable:
        return 0
    for rule in billing.flat:
        if (
            rule.action == action
            and rule.stack in (None, stack)
            and rule.update
            in (
                None,
                update_kind,
            )
        ):
            return hours_to_minutes(rule.hours)
    step = billing.increment_minutes
    rounded = math.ceil(measured / step) * step
    return max(billing.minimum_minutes, rounded)
