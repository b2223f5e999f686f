"""`tma status`: the last runs, sites not checked successfully for days, stale ticket writes,
the last heartbeat sent and the timer's next run.

Read-only: it never migrates nor creates a ledger (a new machine has no runs to show).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tma_agent.ledger.models import Lease, OutboxItem, OutboxState, Request, Run

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tma_agent.config import Config

__all__ = ["SUCCESS", "gather_status"]

#: A check that read the site and judged it (`partial` lost a source: not a success).
SUCCESS = frozenset({"ok", "updates"})
#: Runs read back to find each site's last success: a year of nightly runs.
_HISTORY = 400


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _run_row(run: Run, running: bool) -> dict[str, Any]:
    summary = run.summary or {}
    # An unfinished run is running while it holds the run lock; else it was killed.
    state = "completed" if run.finished_at else ("running" if running else "interrupted")
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "id": run.id,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "state": state,
        "duration_seconds": int(seconds) if seconds is not None else None,
        "sites": dict(summary.get("sites") or {}),
        "findings": dict(summary.get("findings") or {}),
        "requests": dict(summary.get("requests") or {}),
        "applies": dict(summary.get("applies") or {}),
        "queued": int(summary.get("queued") or 0),
        "parked": int(summary.get("parked") or 0),
    }


def _run_lock_held(session: Session, now: dt.datetime) -> bool:
    lease = session.get(Lease, "run")
    return lease is not None and lease.expires_at > now


def _site_rows(
    session: Session, config: Config, now: dt.datetime, stale_days: int
) -> list[dict[str, Any]]:
    last: dict[str, tuple[dt.datetime, str]] = {}
    last_ok: dict[str, dt.datetime] = {}
    runs = session.scalars(
        select(Run).where(Run.finished_at.is_not(None)).order_by(Run.id.desc()).limit(_HISTORY)
    )
    wanted = {s.id for s in config.sites}
    for run in runs:
        when = run.finished_at or run.started_at
        for site, status in ((run.summary or {}).get("site_status") or {}).items():
            if site not in wanted:
                continue
            last.setdefault(site, (when, status))
            if status in SUCCESS:
                last_ok.setdefault(site, when)
        if len(last_ok) == len(wanted):
            break
    limit = now - dt.timedelta(days=stale_days)
    rows = []
    for site in config.sites:
        ok_at = last_ok.get(site.id)
        seen = last.get(site.id)
        rows.append(
            {
                "site": site.id,
                "client": site.client,
                "last_status": seen[1] if seen else None,
                "last_checked_at": _iso(seen[0]) if seen else None,
                "last_success_at": _iso(ok_at),
                "stale": ok_at is None or ok_at < limit,
            }
        )
    return rows


def _outbox(session: Session, now: dt.datetime, hours: int) -> dict[str, Any]:
    waiting = (OutboxState.QUEUED, OutboxState.PARKED)
    counts = dict(
        session.execute(
            select(OutboxItem.state, func.count())
            .where(OutboxItem.state.in_(waiting))
            .group_by(OutboxItem.state)
        ).all()
    )
    by_kind: dict[str, dict[str, int]] = {}
    for operation, state, count in session.execute(
        select(OutboxItem.operation, OutboxItem.state, func.count())
        .where(OutboxItem.state.in_(waiting))
        .group_by(OutboxItem.operation, OutboxItem.state)
    ).all():
        by_kind.setdefault(operation, {})[str(state)] = int(count)
    limit = now - dt.timedelta(hours=hours)
    stale = session.execute(
        select(OutboxItem, Request.fingerprint)
        .outerjoin(Request, OutboxItem.request_id == Request.id)
        .where(OutboxItem.state.in_(waiting), OutboxItem.created_at < limit)
        .order_by(OutboxItem.created_at)
        .limit(20)
    ).all()
    return {
        "queued": int(counts.get(OutboxState.QUEUED, 0)),
        "parked": int(counts.get(OutboxState.PARKED, 0)),
        "by_kind": dict(sorted(by_kind.items())),
        "stale": [
            {
                "id": item.id,
                "operation": item.operation,
                "state": str(item.state),
                "request": fingerprint,
                "attempts": item.attempts,
                "created_at": _iso(item.created_at),
                "last_answer": (item.last_answer or "")[:200] or None,
            }
            for item, fingerprint in stale
        ],
    }


def _heartbeat(config: Config) -> dict[str, Any]:
    from tma_agent.service.heartbeat import last_heartbeat
    from tma_agent.service.timer import next_timer_run

    return {
        "configured": bool(config.heartbeat.url),
        "last": last_heartbeat(config) if config.heartbeat.url else None,
        "next_run": next_timer_run(config),
    }


def gather_status(
    config: Config, now: dt.datetime, *, runs: int = 10, stale_days: int = 3, outbox_hours: int = 24
) -> dict[str, Any]:
    from tma_agent.ledger.database import open_existing_ledger

    ledger, why = open_existing_ledger(config)
    out: dict[str, Any] = {"ledger": why, "runs": [], "sites": [], "problems": []}
    if ledger is None:
        out["sites"] = [
            {"site": s.id, "client": s.client, "last_status": None, "last_checked_at": None,
             "last_success_at": None, "stale": True}
            for s in config.sites
        ]  # fmt: skip
        out["outbox"] = {"queued": 0, "parked": 0, "by_kind": {}, "stale": []}
    else:
        try:
            with ledger.session() as session:
                running = _run_lock_held(session, now)
                rows = session.scalars(select(Run).order_by(Run.id.desc()).limit(runs)).all()
                out["runs"] = [_run_row(r, running and i == 0) for i, r in enumerate(rows)]
                out["sites"] = _site_rows(session, config, now, stale_days)
                out["outbox"] = _outbox(session, now, outbox_hours)
        finally:
            ledger.close()
    out["heartbeat"] = _heartbeat(config)
    completed = [r for r in out["runs"] if r["state"] == "completed"]
    age_limit = dt.timedelta(hours=config.heartbeat.warn_after_hours)
    last = dt.datetime.fromisoformat(completed[0]["finished_at"]) if completed else None
    out["last_completed_run"] = _iso(last)
    if last is None or now - last > age_limit:
        out["problems"].append(
            f"no completed run in the last {config.heartbeat.warn_after_hours} h "
            "(heartbeat.warn_after_hours)"
        )
    stale_sites = [s["site"] for s in out["sites"] if s["stale"]]
    if stale_sites:
        out["problems"].append(
            f"{len(stale_sites)} site(s) not checked successfully for {stale_days} days: "
            + ", ".join(stale_sites[:20])
        )
    if out["outbox"]["stale"]:
        out["problems"].append(
            f"{len(out['outbox']['stale'])} ticket write(s) waiting for more than {outbox_hours} h"
        )
    out["interrupted_runs"] = sum(1 for r in out["runs"] if r["state"] == "interrupted")
    return out
