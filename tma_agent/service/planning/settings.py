"""The `team:` and `planning:` blocks of the configuration (README: Workload plan)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tma_agent.settings import Strict

__all__ = [
    "WEEKDAYS",
    "PlanningSettings",
    "SlaDays",
    "SolverSettings",
    "TeamMember",
    "Weekday",
]

#: The plan counts Monday to Friday (public holidays excepted), as SLA working days do.
Weekday = Literal["mon", "tue", "wed", "thu", "fri"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
#: A range of days off longer than this is surely a typo (a year instead of a day).
_MAX_RANGE_DAYS = 366


class TeamMember(Strict):
    """One person of the TMA team. `skills` are stack names (`drupal`, `wordpress`...);
    `hours_per_week` is spread evenly over `weekdays` (a part-timer lists theirs); `off` lists days off, each a date or
    a range `2026-12-21..2026-12-31` (both ends included)."""

    name: str = Field(min_length=1, max_length=100)
    skills: list[str] = Field(min_length=1)
    #: Zero is refused: someone away for the whole horizon is listed with their days `off`.
    hours_per_week: float = Field(gt=0, le=80)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    off: list[date] = Field(default_factory=list)
    #: The person's login in the ticket system (kept for ticket assignment; unused by the plan).
    redmine_user: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _off_key(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted `off:` key as the boolean false.
        if isinstance(value, dict) and False in value and "off" not in value:
            value = {("off" if k is False else k): v for k, v in value.items()}
        return value

    @field_validator("off", mode="before")
    @classmethod
    def _expand_ranges(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        days: list[Any] = []
        for item in value:
            match = _RANGE.match(item) if isinstance(item, str) else None
            if match is None:
                days.append(item)
                continue
            first, last = (date.fromisoformat(g) for g in match.groups())
            if not 0 <= (last - first).days <= _MAX_RANGE_DAYS:
                raise ValueError(f"{item}: a range goes forward, at most a year")
            days.extend(first + timedelta(days=n) for n in range((last - first).days + 1))
        return days

    @field_validator("skills")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return sorted({s.strip().casefold() for s in value})


class SlaDays(Strict):
    """Working days from a request's creation to its deadline, by SLA category
    (docs/planning.md says which requests fall in which)."""

    security: int = Field(2, ge=1, le=250)
    bugfix: int = Field(10, ge=1, le=250)
    feature: int = Field(20, ge=1, le=250)


class SolverSettings(Strict):
    #: Wall-clock limit of the whole optimisation; the best plan found by then is shown.
    time_limit_seconds: float = Field(5, gt=0, le=600)
    #: One worker gives the same plan for the same ledger every time; more may find better
    #: plans in the same time on a big backlog, at the price of that reproducibility.
    workers: int = Field(1, ge=1, le=64)
    seed: int = Field(0, ge=0)


class PlanningSettings(Strict):
    weeks: int = Field(4, ge=1, le=8)
    #: Share of every person's hours left unplanned for the unforeseen.
    reserve_percent: int = Field(20, ge=0, le=90)
    #: ISO 3166 code whose public holidays are not worked (the `holidays` library); None: none.
    country: str | None = None
    #: A subdivision of `country` with its own holidays (`57` for Moselle in France).
    subdivision: str | None = None
    sla_days: SlaDays = Field(default_factory=lambda: SlaDays())
    #: What a request without an estimate (state `new`) is planned for.
    unestimated_hours: float = Field(2, gt=0, le=40)
    solver: SolverSettings = Field(default_factory=lambda: SolverSettings())

    @model_validator(mode="after")
    def _known_country(self) -> PlanningSettings:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("subdivision needs a country")
            return self
        import holidays

        try:
            # Loads this one country's rules only (listing every country costs half a second).
            holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError:
            where = "subdivision" if self.subdivision else "country"
            value = self.subdivision if self.subdivision else self.country
            raise ValueError(
                f"{where}: {value!r} is not known to the holidays library "
                "(an ISO 3166 code such as FR, and its subdivision codes)"
            ) from None
        return self
