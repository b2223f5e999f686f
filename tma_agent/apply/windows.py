"""Maintenance windows and freezes: when `tma apply`, `tma deploy` and auto-apply may touch a
site. Judged in the configuration's `timezone` (else the machine's), like billed days.

    apply:
      windows: [{days: [mon, tue, wed, thu], from: "09:00", to: "17:00"}]
      freeze:
        - {from: 2026-12-01, to: 2026-12-31, reason: end-of-year sales}
        - {days: [fri], reason: no deploy on Fridays}

No window listed means any time; a freeze always wins over a window. A window whose `to` is
before its `from` runs past midnight (its `days` are the days it starts on).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tma_agent.settings import Strict

__all__ = ["DAYS", "Day", "Freeze", "Window", "closed_reason", "next_opening"]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clock(value: object) -> object:
    """`"09:00"` as written; YAML 1.1 reads an unquoted `17:30` as the number 1050 (base 60)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return dt.time(value // 60, value % 60)
    if isinstance(value, str):
        match = _HHMM.match(value.strip())
        if not match:
            raise ValueError('must be a time of day HH:MM (quote it: "09:00")')
        return dt.time(int(match[1]), int(match[2]))
    return value


class Window(Strict):
    """A time of the week when the site may be worked on."""

    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1)
    start: dt.time = Field(alias="from")
    end: dt.time = Field(alias="to")

    _times = field_validator("start", "end", mode="before")(lambda cls, v: _clock(v))

    def contains(self, moment: dt.datetime) -> bool:
        clock, day = moment.time(), DAYS[moment.weekday()]
        if self.start < self.end:
            return day in self.days and self.start <= clock < self.end
        # Past midnight: the evening part on a listed day, the morning part on the next.
        yesterday = DAYS[(moment.weekday() - 1) % 7]
        return (day in self.days and clock >= self.start) or (
            yesterday in self.days and clock < self.end
        )

    def describe(self) -> str:
        return f"{','.join(self.days)} {self.start:%H:%M}-{self.end:%H:%M}"


class Freeze(Strict):
    """Days when nothing is applied or deployed: a date range, some weekdays, or both (the
    Fridays of December)."""

    first: dt.date | None = Field(None, alias="from")
    last: dt.date | None = Field(None, alias="to")
    days: list[Day] | None = Field(None, min_length=1)
    reason: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Freeze:
        if self.first is None and self.last is None and self.days is None:
            raise ValueError("a freeze needs from/to dates, days, or both")
        if self.first and self.last and self.last < self.first:
            raise ValueError("to is before from")
        return self

    def covers(self, day: dt.date) -> bool:
        if self.first is not None and day < self.first:
            return False
        if self.last is not None and day > self.last:
            return False
        return self.days is None or DAYS[day.weekday()] in self.days

    def describe(self) -> str:
        parts = []
        if self.first or self.last:
            parts.append(f"{self.first or '…'} to {self.last or '…'}")
        if self.days:
            parts.append(",".join(self.days))
        why = f" ({self.reason})" if self.reason else ""
        return f"freeze {' '.join(parts)}{why}"


def closed_reason(
    windows: Sequence[Window], freezes: Sequence[Freeze], moment: dt.datetime
) -> str | None:
    """Why the site may not be worked on at `moment` (aware, in the configured zone), or None."""
    for freeze in freezes:
        if freeze.covers(moment.date()):
            return f"in a {freeze.describe()}"
    if windows and not any(w.contains(moment) for w in windows):
        listed = "; ".join(w.describe() for w in windows)
        return f"outside the maintenance windows ({listed})"
    return None


def next_opening(
    windows: Sequence[Window], freezes: Sequence[Freeze], moment: dt.datetime
) -> dt.datetime | None:
    """The first moment after `moment` when work may start, within a year; None if never."""
    starts = [dt.time(0, 0)] if not windows else sorted({w.start for w in windows})
    for offset in range(0, 367):
        day = moment.date() + dt.timedelta(days=offset)
        for clock in starts:
            candidate = dt.datetime.combine(day, clock, tzinfo=moment.tzinfo)
            if candidate > moment and closed_reason(windows, freezes, candidate) is None:
                return candidate
    return None
