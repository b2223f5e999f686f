"""What the pages and their `/api/` twins show, as plain data, always scoped to the viewer:
a client account gets its own client's rows and nothing else. The reads reuse the CLI's
(`tma status`, `tma requests list|show`, `tma contract status`, `tma report monthly`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from tma_agent.billing.periods import zone
from tma_agent.billing.report.freeze import report_document
from tma_agent.billing.status import contract_statuses
from tma_agent.config import Config
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import (
    ApplyRun,
    Intervention,
    MonthValidation,
    Request,
    Run,
    WorkState,
    utcnow,
)
from tma_agent.service.status import gather_status
from tma_agent.tickets.views import list_requests, show_request
from tma_agent.web.auth import Viewer

__all__ = [
    "NotFound",
    "client_detail",
    "clients",
    "filtered",
    "fleet",
    "month_report",
    "request_detail",
    "requests_by_state",
    "runs",
    "site_detail",
    "today",
]

_ENDED = (WorkState.CLOSED, WorkState.REJECTED)
#: Finished runs read back for each site's last findings (as `tma status` does).
_HISTORY = 400


class NotFound(LookupError):
    """No such thing for this viewer: another client's data is answered exactly like data
    that does not exist, so its existence is not disclosed either."""


def today(config: Config) -> dt.date:
    return dt.datetime.now(zone(config.timezone)).date()


def _last_findings(ledger: Ledger, wanted: set[str]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    with ledger.session() as session:
        query = select(Run).where(Run.finished_at.is_not(None)).order_by(Run.id.desc())
        for run in session.scalars(query.limit(_HISTORY)):
            statuses = (run.summary or {}).get("site_status") or {}
            per_site = (run.summary or {}).get("site_findings") or {}
            for site in statuses:
                if site in wanted and site not in found:
                    found[site] = {k: int(n) for k, n in (per_site.get(site) or {}).items()}
            if len(found) == len(wanted):
                break
    return found


def fleet(config: Config, ledger: Ledger, viewer: Viewer) -> dict[str, Any]:
    """Every site the viewer sees: stack, last check, last status, updates by kind, and its
    open requests."""
    status = gather_status(config, utcnow())
    sites = {s.id: s for s in config.sites if viewer.sees(s.client)}
    findings = _last_findings(ledger, set(sites))
    requests = list_requests(ledger)
    rows = []
    for row in status["sites"]:
        site = sites.get(row["site"])
        if site is None:
            continue
        open_requests = [
            r for r in requests if r["site"] == site.id and r["state"] not in ("closed", "rejected")
        ]
        rows.append(
            {
                **row,
                "stack": site.stack,
                "updates": findings.get(site.id, {}),
                "open_requests": len(open_requests),
            }
        )
    return {"sites": rows, "last_completed_run": status["last_completed_run"]}


#: `?sort=` keys of the fleet: None sorts last (never-checked sites at the end).
_SORTS = {
    "site": lambda r: (False, r["site"]),
    "client": lambda r: (False, r["client"], r["site"]),
    "status": lambda r: (r["last_status"] is None, r["last_status"] or "", r["site"]),
    "last_check": lambda r: (r["last_checked_at"] is None, r["last_checked_at"] or "", r["site"]),
    "updates": lambda r: (False, -sum(r["updates"].values()), r["site"]),
}


def filtered(found: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """The fleet narrowed by `?client=`, `?status=`, `?stack=` and ordered by `?sort=`
    (site, client, status, last_check, updates); unknown values select nothing, an unknown
    sort keeps the configuration's order."""
    rows = found["sites"]
    for key, column in (("client", "client"), ("status", "last_status"), ("stack", "stack")):
        if query.get(key):
            rows = [r for r in rows if r[column] == query[key]]
    sort = _SORTS.get(query.get("sort", ""))
    return {**found, "sites": sorted(rows, key=sort) if sort else rows}


def site_detail(config: Config, ledger: Ledger, viewer: Viewer, site_id: str) -> dict[str, Any]:
    """One site: its environments, last check, updates by kind, requests and interventions."""
    from tma_agent.billing.listing import list_entries

    site = next((s for s in config.sites if s.id == site_id), None)
    if site is None or not viewer.sees(site.client):
        raise NotFound(f"site {site_id}")
    row = next(r for r in fleet(config, ledger, viewer)["sites"] if r["site"] == site.id)
    with ledger.session() as session:
        entries = list_entries(session, site=site.id)
        open_requests = session.scalars(
            select(Request)
            .where(Request.site == site.id, Request.state.not_in(_ENDED))
            .order_by(Request.id)
        )
        # What the open requests ask for: each component, its target and its advisories.
        applies = [
            _apply_row(a)
            for a in session.scalars(
                select(ApplyRun)
                .where(ApplyRun.site == site.id)
                .order_by(ApplyRun.id.desc())
                .limit(10)
            )
        ]
        findings = [
            {**target, "request": request.id}
            for request in open_requests
            for target in request.targets
        ]
    return {
        **row,
        "environments": [
            {"name": name, "url": env.url, "branch": env.branch}
            for name, env in site.environments.items()
        ],
        "findings": findings,
        "applies": applies,
        "requests": [_request_row(r) for r in list_requests(ledger, site=site.id)],
        "interventions": entries["entries"][-100:],
        "billed_minutes": entries["totals"]["billed_minutes"],
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _apply_row(run: ApplyRun) -> dict[str, Any]:
    """An apply, deploy or playbook run as the journal keeps it, without the commands and
    their output (the agency's plumbing, shown by `tma apply`): each step's outcome."""
    from tma_agent.web.artifacts import apply_files  # it answers with this module's NotFound

    return {
        "id": run.id,
        "env": run.env,
        "action": run.action,
        "playbook": run.playbook,
        "request": run.request_id,
        "state": run.state.value,
        "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "error": run.error,
        "steps": [
            {k: step.get(k) for k in ("index", "step", "title", "status", "error")}
            for step in run.steps
        ],
        # Its screenshots (visual.check) and other files, at the dashboard's own addresses.
        **apply_files(run),
    }


_ROW_KEYS = (
    "id",
    "fingerprint",
    "site",
    "client",
    "kind",
    "state",
    "priority",
    "estimate_minutes",
    "validated",
    "ticket",
    "ticket_status",
    "outbox",
    "title",
)


def waiting_on(row: dict[str, Any]) -> str | None:
    """Who must act next: the agency (estimate it, do it, fix a refused ticket write) or the
    client (validate it); None once it is done, closed or rejected."""
    if row["state"] in ("closed", "rejected", "in_production"):
        return None
    if row["outbox"] == "parked" or row["state"] == "new" or row["validated"]:
        return "agency"
    return "client"


def _request_row(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: row[k] for k in _ROW_KEYS}, "waiting_on": waiting_on(row)}


def requests_by_state(ledger: Ledger, viewer: Viewer) -> dict[str, Any]:
    rows = [_request_row(r) for r in list_requests(ledger) if viewer.sees(r["client"])]
    by_state: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_state.setdefault(row["state"], []).append(row)
    return {"requests": rows, "by_state": {k: len(v) for k, v in by_state.items()}}


def request_detail(ledger: Ledger, viewer: Viewer, request_id: int) -> dict[str, Any]:
    with ledger.session() as session:
        request = session.get(Request, request_id)
        if request is None or not viewer.sees(request.client):
            raise NotFound(f"request {request_id}")
    shown = show_request(ledger, str(request_id))
    if not viewer.staff:
        # The outbox's answers are the agency's plumbing (ticket-system errors).
        shown = {**shown, "outbox": []}
    return shown


def clients(config: Config, ledger: Ledger, viewer: Viewer) -> dict[str, Any]:
    day = today(config)
    with ledger.session() as session:
        rows = contract_statuses(session, config, day)
    return {"date": day.isoformat(), "clients": [r for r in rows if viewer.sees(r["client"])]}


def client_detail(config: Config, ledger: Ledger, viewer: Viewer, client: str) -> dict[str, Any]:
    if not viewer.sees(client) or not any(c.id == client for c in config.clients):
        raise NotFound(f"client {client}")
    day = today(config)
    with ledger.session() as session:
        (bucket,) = contract_statuses(session, config, day, client)
        worked = set(
            session.scalars(select(Intervention.month).where(Intervention.client == client))
        )
        validations = {
            v.month: v
            for v in session.scalars(
                select(MonthValidation).where(MonthValidation.client == client)
            )
        }
        months = [
            {
                "month": month,
                "validated": month in validations,
                "validated_by": validations[month].validated_by if month in validations else None,
                "validated_at": (
                    validations[month].at.isoformat(timespec="seconds")
                    if month in validations
                    else None
                ),
            }
            for month in sorted(worked | set(validations), reverse=True)
        ]
    sites = [s.id for s in config.sites if s.client == client]
    return {"date": day.isoformat(), "client": bucket, "sites": sites, "months": months}


def month_report(
    config: Config, ledger: Ledger, viewer: Viewer, client: str, month: str
) -> dict[str, Any]:
    """The month's report document as `tma report monthly --format json` prints it."""
    import json

    from tma_agent.billing.report.render import render_json

    if not viewer.sees(client) or not any(c.id == client for c in config.clients):
        raise NotFound(f"client {client}")
    with ledger.session() as session:
        document = report_document(session, config, client, month)
    parsed: dict[str, Any] = json.loads(render_json(document, "en"))
    return parsed


def runs(config: Config, viewer: Viewer, limit: int = 50) -> dict[str, Any]:
    if not viewer.staff:
        raise NotFound("runs")  # every client's sites are in them
    status = gather_status(config, utcnow(), runs=limit)
    return {
        "runs": status["runs"],
        "outbox": status["outbox"],
        "problems": status["problems"],
        "last_completed_run": status["last_completed_run"],
        "heartbeat": status["heartbeat"],
    }
