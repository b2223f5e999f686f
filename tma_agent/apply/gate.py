"""The rules an apply or deploy passes before it touches a site: its maintenance windows and
freezes (`Waiting`, exit 7: nothing was done, try later)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tma_agent.apply.windows import Freeze, Window, closed_reason, next_opening
from tma_agent.errors import TmaError

__all__ = ["EXIT_WAITING", "Waiting", "check_window"]

#: Outside the site's maintenance windows or in a freeze: nothing was done.
EXIT_WAITING = 7


class Waiting(TmaError):
    """Work held back by a window or a freeze (exit 7): not a failure, nothing was touched."""

    exit_code = EXIT_WAITING


def check_window(
    site_id: str,
    what: str,
    windows: Sequence[Window],
    freezes: Sequence[Freeze],
    tz: dt.tzinfo,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Raise `Waiting` naming the rule and the next opening when `what` (apply, deploy) may
    not run on the site now, in the configured zone."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(tz)
    reason = closed_reason(windows, freezes, moment)
    if reason is None:
        return
    opening = next_opening(windows, freezes, moment)
    when = f"; next opening {opening:%a %Y-%m-%d %H:%M %Z}" if opening else ""
    raise Waiting(f"{what} on {site_id} waits: {moment:%a %Y-%m-%d %H:%M %Z} is {reason}{when}")
