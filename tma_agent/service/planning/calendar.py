"""Working days and capacity: Monday to Friday minus the public holidays of
`planning.country`, each person's weekdays minus their days off, in quarter hours."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from tma_agent.service.planning.settings import WEEKDAYS, PlanningSettings, TeamMember

__all__ = ["UNIT_MINUTES", "BusinessCalendar", "Horizon", "Week", "capacity_units", "make_horizon"]

#: The plan counts time in quarter hours: estimates are rounded up to one.
UNIT_MINUTES = 15


class BusinessCalendar:
    """SLA working days: Monday to Friday, public holidays excepted."""

    def __init__(self, settings: PlanningSettings, years: Iterable[int]) -> None:
        self._holidays: Mapping[date, str] = {}
        if settings.country is not None:
            import holidays

            # The library adds the years asked later on (an old request's creation) by itself.
            self._holidays = holidays.country_holidays(
                settings.country, subdiv=settings.subdivision, years=sorted(set(years))
            )

    def holiday(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name is not None else None

    def is_business(self, day: date) -> bool:
        return day.weekday() < len(WEEKDAYS) and day not in self._holidays

    def add_business_days(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (created Friday, 2 days: Tuesday)."""
        while count > 0:
            day += timedelta(days=1)
            count -= self.is_business(day)
        return day

    def business_days_between(self, first: date, last: date) -> int:
        """Working days in [first, last): negative when last is before first."""
        if last < first:
            return -self.business_days_between(last, first)
        return sum(self.is_business(first + timedelta(n)) for n in range((last - first).days))


@dataclass(frozen=True)
class Week:
    label: str  # ISO week, `2026-W50`
    monday: date
    #: Indices into Horizon.days of this week's working days.
    day_indices: tuple[int, ...]


@dataclass(frozen=True)
class Horizon:
    """From `start` to the Sunday ending the `weeks`-th ISO week (the first may be partial)."""

    start: date
    end: date
    #: The working days of the horizon, the axis of the plan.
    days: tuple[date, ...]
    weeks: tuple[Week, ...]
    calendar: BusinessCalendar

    def index_of(self, day: date) -> int:
        """Position of `day` on the axis in working days: negative before the start, past the
        last index after the end (a deadline outside the horizon stays comparable)."""
        return self.calendar.business_days_between(self.start, day)


def make_horizon(start: date, weeks: int, settings: PlanningSettings) -> Horizon:
    monday = start - timedelta(days=start.weekday())
    end = monday + timedelta(days=7 * weeks - 1)
    calendar = BusinessCalendar(settings, range(start.year - 1, end.year + 1))
    days = tuple(
        d
        for d in (start + timedelta(n) for n in range((end - start).days + 1))
        if calendar.is_business(d)
    )
    week_list = []
    for w in range(weeks):
        first = monday + timedelta(days=7 * w)
        iso = first.isocalendar()
        indices = tuple(i for i, d in enumerate(days) if first <= d < first + timedelta(7))
        week_list.append(Week(f"{iso.year}-W{iso.week:02d}", first, indices))
    return Horizon(start, end, days, tuple(week_list), calendar)


def capacity_units(member: TeamMember, day: date, reserve_percent: int) -> tuple[int, int]:
    """(units planned normally, units including the reserve) of `member` on a working day."""
    if WEEKDAYS[day.weekday()] not in member.weekdays or day in member.off:
        return 0, 0
    minutes = member.hours_per_week * 60 / len(member.weekdays)
    full = int(minutes // UNIT_MINUTES)
    net = int(minutes * (100 - reserve_percent) / 100 // UNIT_MINUTES)
    return net, full
