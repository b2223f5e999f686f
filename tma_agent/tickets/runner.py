"""One `tma run`: the run lock, the run's record in the ledger, the check, the requests, and
`tma_run_finished`. A dry run reads the ledger if there is one and writes nothing anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pluggy
import structlog

from tma_agent.config import Config
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Run, utcnow
from tma_agent.models import SiteReport
from tma_agent.tickets.summary import RequestOutcome, RunInfo, RunSummary
from tma_agent.tickets.targets import Backends

__all__ = ["EXIT_QUEUED", "execute_run"]

log = structlog.get_logger()
EXIT_QUEUED = 3


def execute_run(
    config: Config,
    pm: pluggy.PluginManager,
    backends: Backends,
    check: Callable[[], list[SiteReport]],
    *,
    dry_run: bool,
    after: Callable[[Ledger, list[SiteReport]], list[dict[str, Any]]] | None = None,
) -> tuple[RunSummary, int]:
    """(summary, exit code): 3 when ticket writes are left queued or parked, else 0. `after`
    (recovering and auto-applying) runs once the requests are open, still under the run lock,
    so the run's record and its `tma_run_finished` observers see what it did."""
    started = utcnow()
    if dry_run:
        summary = _dry_run(config, check())
        _finished(
            pm, RunInfo(None, started, utcnow(), True, _sites(summary.reports), config), summary
        )
        return summary, 0
    from tma_agent.ledger import open_ledger
    from tma_agent.ledger.locks import hold_lock
    from tma_agent.tickets.run import run_requests, send_writes
    from tma_agent.tickets.views import outbox_counts

    with open_ledger(config) as ledger, hold_lock(ledger, "run"):
        with ledger.session() as session:
            run = Run(started_at=started)
            session.add(run)
        reports = check()
        summary = run_requests(config, ledger, backends, reports)
        if after is not None:
            summary.applies = after(ledger, reports)
            if summary.applies:  # their notes and time entries go with this run
                known = set(summary.ticket_errors)  # a ticket system down says so once
                sent = dict.fromkeys(send_writes(ledger, backends))
                summary.ticket_errors += [e for e in sent if e not in known]
        summary.alerts = _bucket_alerts(config, ledger)
        summary.ticket_errors += _send_notices(ledger, backends)
        # Counted again: the notices queued before this run (a validated month) went just now.
        summary.queued, summary.parked = outbox_counts(ledger)
        finished = utcnow()
        with ledger.session() as session:
            record = session.get(Run, run.id)
            if record is not None:
                record.finished_at, record.summary = finished, _recorded(summary)
    _finished(pm, RunInfo(run.id, started, finished, False, _sites(reports), config), summary)
    return summary, EXIT_QUEUED if summary.queued or summary.parked else 0


def _dry_run(config: Config, reports: list[SiteReport]) -> RunSummary:
    from tma_agent.ledger.database import open_existing_ledger
    from tma_agent.tickets.reconcile import site_requests
    from tma_agent.tickets.run import SUCCESSFUL, plan_requests

    summary = RunSummary(reports=reports)
    ledger, why = open_existing_ledger(config)
    if why:
        summary.ticket_errors.append(why)
    actions = {
        "create": "created",
        "update": "updated",
        "unchanged": "unchanged",
        "close": "closed",
        "stays_closed": "unchanged",
    }
    try:
        for report in reports:
            if report.status not in SUCCESSFUL:
                continue
            if ledger is None:
                decisions = plan_requests(config, report, [])
            else:
                with ledger.session() as session:
                    decisions = plan_requests(config, report, site_requests(session, report.site))
            for d in decisions:
                ticket = d.request.ticket_ref if d.request is not None else None
                summary.requests.append(
                    RequestOutcome(d.fingerprint, d.site, actions[d.verb], ticket, d.state)  # type: ignore[arg-type]
                )
    finally:
        if ledger is not None:
            ledger.close()
    return summary


def _bucket_alerts(config: Config, ledger: Ledger) -> list[dict[str, object]]:
    """Thresholds of the clients' buckets reached since the last run, each raised once per
    period (logged by `check_alerts`)."""
    from tma_agent.billing.alerts import check_all_alerts
    from tma_agent.billing.periods import zone

    today = utcnow().astimezone(zone(config.timezone)).date()
    with ledger.session() as session:
        return [alert.to_dict() for alert in check_all_alerts(session, config, today)]


def _send_notices(ledger: Ledger, backends: Backends) -> list[str]:
    from tma_agent.billing.notices import send_notices

    return send_notices(ledger, backends).errors


def _sites(reports: Sequence[SiteReport]) -> tuple[str, ...]:
    return tuple(r.site for r in reports)


def _recorded(summary: RunSummary) -> dict[str, object]:
    """What the run's row keeps: counts, not the whole reports."""
    actions: dict[str, int] = {}
    for r in summary.requests:
        actions[r.action] = actions.get(r.action, 0) + 1
    statuses: dict[str, int] = {}
    findings: dict[str, int] = {}
    for report in summary.reports:
        statuses[report.status] = statuses.get(report.status, 0) + 1
        for component in report.components:
            if component.update != "none":
                findings[component.update] = findings.get(component.update, 0) + 1
    return {
        "requests": actions,
        "sites": statuses,
        "findings": findings,
        # Per site, for `tma status` (sites not checked successfully for days).
        "site_status": {r.site: r.status for r in summary.reports},
        # Per site, updates by kind, for the dashboard's fleet page (`tma serve`).
        "site_findings": {r.site: _update_counts(r) for r in summary.reports},
        "queued": summary.queued,
        "parked": summary.parked,
        "applies": _counts(a.get("state") for a in summary.applies),
        "ticket_errors": summary.ticket_errors[:20],
    }


def _counts(values: Iterable[object]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return counts


def _update_counts(report: SiteReport) -> dict[str, int]:
    return _counts(c.update for c in report.components if c.update != "none")


def _finished(pm: pluggy.PluginManager, run: RunInfo, summary: RunSummary) -> None:
    for impl in pm.hook.tma_run_finished.get_hookimpls():
        try:
            impl.function(run=run, summary=summary)
        except Exception:
            log.exception("tma_run_finished hook failed", plugin=impl.plugin_name)
