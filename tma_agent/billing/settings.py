"""The `billing:` block and a client's `contract:` (the forfait), in exact types: minutes as
integers, hours, days and money as Decimal."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tma_agent.settings import Strict

__all__ = ["BillingSettings", "CarryOver", "Contract", "FlatRule", "KindName", "SlaOverride"]

KindName = Literal["preventive", "corrective", "evolutive"]


class CarryOver(Strict):
    """What is left of a period's bucket when the next one starts: nothing (`none`), all of
    it (`all`), or at most `max_days` (`capped`)."""

    mode: Literal["none", "all", "capped"] = "none"
    max_days: Decimal | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _capped_needs_max(self) -> CarryOver:
        if self.mode == "capped" and self.max_days is None:
            raise ValueError("carry_over.mode capped needs max_days")
        return self


class SlaOverride(Strict):
    """A contract's own SLA deadlines, in working days: each key given replaces
    `planning.sla_days` for this client's requests (tma plan, docs/planning.md)."""

    security: int | None = Field(None, ge=1, le=250)
    bugfix: int | None = Field(None, ge=1, le=250)
    feature: int | None = Field(None, ge=1, le=250)


class Contract(Strict):
    days: Decimal = Field(gt=0)
    hours_per_day: Decimal = Field(Decimal(7), gt=0, le=24)
    period: Literal["monthly", "quarterly", "yearly"] = "monthly"
    #: First day of the first period; None: periods follow the calendar (months, quarters
    #: starting in January, years).
    start: date | None = None
    carry_over: CarryOver = Field(default_factory=lambda: CarryOver())
    #: Price of an hour past the bucket, in `currency`; None: overage is shown, not priced.
    overage_rate: Decimal | None = Field(None, ge=0)
    currency: str = "EUR"
    sla_days: SlaOverride | None = None

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("must be an ISO 4217 code such as EUR or USD")
        return value

    @property
    def minutes_per_day(self) -> Decimal:
        return self.hours_per_day * 60


class FlatRule(Strict):
    """Bill `hours` once for an intervention matching `action`, `stack` and `update` (None:
    any), whatever it measured and however many components it touched."""

    action: str
    stack: str | None = None
    update: str | None = None
    hours: Decimal = Field(ge=0, le=40)


class BillingSettings(Strict):
    increment_minutes: int = Field(15, ge=1, le=480)
    minimum_minutes: int = Field(15, ge=0, le=480)
    flat: list[FlatRule] = Field(default_factory=list)
    non_billable: list[KindName] = Field(default_factory=list)
    #: Percentages of the bucket that raise an alert, each once per period.
    alerts: list[int] = Field(default_factory=lambda: [80, 100])

    @field_validator("alerts")
    @classmethod
    def _percentages(cls, value: list[int]) -> list[int]:
        if any(not 1 <= v <= 1000 for v in value):
            raise ValueError("alerts are percentages between 1 and 1000")
        return sorted(set(value))
