"""When the systemd timer runs `tma run` next, if that can be known here: systemd's own answer
for the installed `tma-agent.timer` (system, then user units), else the next time
`schedule.on_calendar` names, as `systemd-analyze calendar` computes it (what the timer
`tma systemd install` writes would do, before its `RandomizedDelaySec`). None without
systemd's tools. Each answer comes from systemd itself: no calendar is parsed here."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

from tma_agent.service.systemd import TIMER

if TYPE_CHECKING:
    from tma_agent.config import Config

__all__ = ["next_timer_run"]

_TIMEOUT = 3.0
_FORMAT = "%a %Y-%m-%d %H:%M:%S %Z"


def _utc(text: str) -> dt.datetime | None:
    """systemd's "Thu 2026-12-03 02:30:00 UTC" (always asked for in UTC)."""
    try:
        return dt.datetime.strptime(text.strip(), _FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _run(args: list[str], env: dict[str, str] | None = None) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - systemd's tools, fixed arguments
            args, capture_output=True, text=True, timeout=_TIMEOUT, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _from_systemctl() -> dt.datetime | None:
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    utc = {**os.environ, "TZ": "UTC"}  # how it prints, not when it fires
    for scope in ([], ["--user"]):
        shown = _run(
            [systemctl, *scope, "show", TIMER, "--property=NextElapseUSecRealtime", "--value"],
            utc,
        )
        when = _utc(shown) if shown else None
        if when is not None:
            return when
    return None


def _from_calendar(spec: str) -> dt.datetime | None:
    analyze = shutil.which("systemd-analyze")
    shown = _run([analyze, "calendar", spec]) if analyze else None
    if not shown:
        return None
    lines = {k.strip(): v for k, _, v in (x.partition(":") for x in shown.splitlines())}
    # "(in UTC)" is printed when the machine's zone is another; else "Next elapse" is UTC.
    return _utc(lines.get("(in UTC)") or lines.get("Next elapse") or "")


def next_timer_run(config: Config) -> dict[str, Any] | None:
    """{"at": ISO time in UTC, "source": "systemd" | "schedule.on_calendar"} or None."""
    when = _from_systemctl()
    if when is not None:
        return {"at": when.isoformat(timespec="seconds"), "source": "systemd"}
    when = _from_calendar(config.schedule.on_calendar)
    if when is not None:
        return {"at": when.isoformat(timespec="seconds"), "source": "schedule.on_calendar"}
    return None
