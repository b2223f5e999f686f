"""The heartbeat of scheduled runs (healthchecks.io style) and the warning for a stale one.

`URL/start` when a run starts, `URL` when it succeeds, `URL/fail` when it exits non-zero for
any reason (a lock held, a ticket system down, a crash): a monitoring service then notices
both failed runs and runs that never happen. A ping that fails is logged, never fatal: the
run matters more than its monitoring. The last ping and its outcome are kept in
`<state_dir>/heartbeat.json` for `tma status` and the dashboard.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import TYPE_CHECKING, Any

import structlog

from tma_agent._masking import mask

if TYPE_CHECKING:
    from tma_agent.config import Config

__all__ = ["HEARTBEAT_FILE", "Heartbeat", "last_completed_run", "last_heartbeat", "stale_warning"]

log = structlog.get_logger(__name__)
#: A monitoring endpoint answers at once or is down: a ping never holds a run back long.
_PING_TIMEOUT = 10.0
#: In `state_dir`: the last ping sent (see `last_heartbeat`).
HEARTBEAT_FILE = "heartbeat.json"
_PING_NAMES = {"/start": "start", "": "success", "/fail": "fail"}


class Heartbeat:
    """`with Heartbeat(config) as beat: ...; beat.exit_code = code`: pings start, then
    success or fail (fail as well when the block raises)."""

    def __init__(self, config: Config) -> None:
        self.url = config.heartbeat.url
        self.exit_code = 0
        self.pings: list[str] = []
        self.record = config.state_path / HEARTBEAT_FILE

    def ping(self, suffix: str, body: str = "") -> None:
        if not self.url:
            return
        import httpx

        url = self.url.rstrip("/") + suffix
        status: int | None = None
        error: str | None = None
        try:
            answer = httpx.post(url, content=body.encode(), timeout=_PING_TIMEOUT)
            self.pings.append(suffix or "/")
            status = answer.status_code
            if answer.status_code >= 400:
                error = f"HTTP {answer.status_code}"
                log.warning("heartbeat refused", url=mask(url), status=answer.status_code)
        except httpx.HTTPError as exc:
            error = mask(" ".join(str(exc).split()))[:300]
            log.warning("heartbeat not sent", url=mask(url), error=error)
        self._remember(_PING_NAMES.get(suffix, suffix), status, error)

    def _remember(self, ping: str, status: int | None, error: str | None) -> None:
        """The last ping and how it went, for `tma status` and the dashboard's runs page
        (the URL is left out: a monitoring URL is a secret). Never fatal, like the ping."""
        import json
        import os

        entry = {
            "ping": ping,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "ok": error is None,
            "status": status,
            "error": error,
        }
        partial = self.record.with_name(f".{self.record.name}.{os.getpid()}")
        try:
            self.record.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(entry))
            os.replace(partial, self.record)  # atomic: a reader never sees half a file
        except OSError as exc:
            log.warning("heartbeat not recorded", path=str(self.record), error=exc.strerror)

    def __enter__(self) -> Heartbeat:
        self.ping("/start")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            code = getattr(exc, "exit_code", None) or getattr(exc, "code", None) or 1
            self.exit_code = code if isinstance(code, int) else 1
            self.ping("/fail", f"exit {self.exit_code}: {mask(str(exc))[:500]}")
        elif self.exit_code:
            self.ping("/fail", f"exit {self.exit_code}")
        else:
            self.ping("")


def last_heartbeat(config: Config) -> dict[str, Any] | None:
    """The last ping `tma run` sent (start, success, fail), when, and whether the monitoring
    service took it; None before the first (or without `heartbeat.url`)."""
    import json

    path = config.state_path / HEARTBEAT_FILE
    try:
        with path.open("rb") as handle:
            entry = json.loads(handle.read(4096))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("ping") not in _PING_NAMES.values():
        return None
    status = entry.get("status")
    return {
        "ping": entry["ping"],
        "at": str(entry.get("at")),
        "ok": entry.get("ok") is True,
        "status": status if isinstance(status, int) else None,
        "error": str(entry["error"])[:300] if entry.get("error") else None,
    }


def last_completed_run(config: Config) -> dt.datetime | None:
    """When the last run that got to its end finished (None: never, or no ledger yet)."""
    from sqlalchemy import func, select

    from tma_agent.ledger.database import open_existing_ledger
    from tma_agent.ledger.models import Run

    ledger, _ = open_existing_ledger(config)
    if ledger is None:
        return None
    try:
        with ledger.session() as session:
            return session.scalar(select(func.max(Run.finished_at)))
    finally:
        ledger.close()


def stale_warning(config: Config, now: dt.datetime) -> str | None:
    """A warning when the previous completed run is older than `heartbeat.warn_after_hours`."""
    last = last_completed_run(config)
    hours = config.heartbeat.warn_after_hours
    if last is None or now - last <= dt.timedelta(hours=hours):
        return None
    age = int((now - last).total_seconds() // 3600)
    return f"the previous completed run finished {age} h ago (heartbeat.warn_after_hours: {hours})"
