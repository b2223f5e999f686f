"""`tma run`, `tma requests ...` and `tma tickets check`: the commands of the requests that
the checks open in the agency's ticket system. Heavy imports stay inside the commands."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Callable

    from tma_agent.cli import _State
    from tma_agent.ledger.database import Ledger
    from tma_agent.models import SiteReport
    from tma_agent.tickets.summary import RunSummary
    from tma_agent.tickets.targets import Backends

__all__ = ["register_commands"]

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    help="Default: table on a terminal, else json.",
)


def _fmt(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")


def _backends(state: _State) -> Backends:
    from tma_agent.errors import ConfigError
    from tma_agent.tickets.registry import registered_ticket_backends, ticket_config_problems
    from tma_agent.tickets.targets import Backends

    registry = registered_ticket_backends(state.pm)
    problems = ticket_config_problems(state.config, registry)
    if problems:
        raise ConfigError("\n".join(problems))
    return Backends(state.config, registry)


@click.command("run")
@click.option(
    "--site", "site_ids", multiple=True, metavar="ID", help="Only this site (repeatable)."
)
@click.option("--stack", metavar="NAME", help="Only sites of this stack.")
@click.option(
    "--dry-run", is_flag=True, help="Print what would be created, updated or closed; write nothing."
)
@click.option("--concurrency", type=click.IntRange(1, 256), help="Sites checked at once.")
@_FORMAT
@click.pass_obj
def run_command(
    state: _State,
    site_ids: tuple[str, ...],
    stack: str | None,
    dry_run: bool,
    concurrency: int | None,
    fmt: str | None,
) -> None:
    """Check sites, then open, update or close their maintenance requests in the ticket
    system (README: Requests). Exit 3 when ticket writes are left queued."""
    from tma_agent.cli import run_checks
    from tma_agent.tickets.runner import execute_run

    backends = _backends(state)

    def check() -> list[SiteReport]:
        return run_checks(state, site_ids, stack, concurrency, progress=_fmt(fmt) == "table")

    if dry_run:
        try:
            summary, code = execute_run(state.config, state.pm, backends, check, dry_run=True)
        finally:
            backends.close()
        _print_summary(summary, _fmt(fmt), dry_run=True, applies=[])
        return
    import structlog

    from tma_agent.ledger.models import utcnow
    from tma_agent.service.heartbeat import Heartbeat, stale_warning

    # A dry run is no scheduled run: only real ones are announced to the heartbeat.
    with Heartbeat(state.config) as beat:
        stale = stale_warning(state.config, utcnow())
        if stale:
            structlog.get_logger().warning("previous run is old", detail=stale)
            click.echo(f"warning: {stale}", err=True)
        try:
            summary, code = execute_run(
                state.config, state.pm, backends, check, dry_run=False, after=_applies(state)
            )
        finally:
            backends.close()
        _send_apply_notes(state, summary.applies)
        beat.exit_code = code
    _print_summary(summary, _fmt(fmt), dry_run=False, applies=summary.applies)
    if code:
        sys.exit(code)


def _applies(state: _State) -> Callable[[Ledger, list[SiteReport]], list[dict[str, Any]]]:
    """Recover killed applies and auto-apply in staging what the policy allows (docs/apply.md),
    inside the run (its lock held, its record and observers told)."""

    def after(ledger: Ledger, reports: list[SiteReport]) -> list[dict[str, Any]]:
        from tma_agent.apply.auto import after_run

        return after_run(state.config, state.pm, ledger, reports)

    return after


def _send_apply_notes(state: _State, applies: list[dict[str, Any]]) -> None:
    """The applies' ticket notes, sent at once."""
    from tma_agent.cli_apply import send_request_writes

    for request_id in {a["request"] for a in applies if a["request"] is not None}:
        for error in send_request_writes(state, request_id):
            click.echo(f"ticket system: {error}", err=True)


def _print_summary(
    summary: RunSummary, fmt: str, *, dry_run: bool, applies: list[dict[str, Any]]
) -> None:
    if fmt == "json":
        out = {**summary.to_dict(), "dry_run": dry_run}
        if applies:
            out["applies"] = applies
        click.echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="would do" if dry_run else None)
    for column in ("site", "request", "action", "ticket", "state"):
        table.add_column(column, overflow="fold")
    for r in summary.requests:
        table.add_row(r.site, r.fingerprint, r.action, r.ticket or "-", r.state)
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    counts: dict[str, int] = {}
    for r in summary.requests:
        counts[r.action] = counts.get(r.action, 0) + 1
    said = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no requests"
    click.echo(f"{said}; outbox: {summary.queued} queued, {summary.parked} parked")
    for alert in summary.alerts:
        click.echo(f"bucket alert: {alert['message']}", err=True)
    for error in summary.ticket_errors:
        click.echo(f"ticket system: {error}", err=True)
    for done in applies:
        for recovered in done["recovered"]:
            click.echo(f"recovered: {recovered['message']}")
        error = f": {done['error']}" if done["error"] else ""
        click.echo(f"auto-apply {done['site']}: {done['state']}{error}")


@click.group("requests")
def requests_group() -> None:
    """Maintenance requests: list, show, validate, sync, retry (README: Requests)."""


@requests_group.command("list")
@click.option("--site", help="Only this site's requests.")
@click.option("--state", "work_state", help="Only requests in this state (new, estimated, ...).")
@click.option("--queued", is_flag=True, help="Only requests with ticket writes queued or parked.")
@_FORMAT
@click.pass_obj
def requests_list(
    state: _State, site: str | None, work_state: str | None, queued: bool, fmt: str | None
) -> None:
    """List the requests in the ledger."""
    from tma_agent.ledger import open_ledger
    from tma_agent.tickets.views import list_requests

    with open_ledger(state.config) as ledger:
        rows = list_requests(ledger, site=site, state=work_state, queued=queued)
    if _fmt(fmt) == "json":
        click.echo(json.dumps({"requests": rows}, indent=2, ensure_ascii=False))
        return
    _table(rows, ("id", "site", "fingerprint", "state", "validated", "ticket", "outbox"))


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@requests_group.command("add")
@click.option("--site", "site_id", required=True, help="The site the request is about.")
@click.option(
    "--kind",
    type=click.Choice(["corrective", "evolutive", "preventive"]),
    default="corrective",
    show_default=True,
)
@click.option("--hours", "estimate", help="Estimate in hours (1-40); none: the request is `new`.")
@click.option(
    "--priority", type=click.Choice(["low", "normal", "high", "urgent"]), default="normal"
)
@click.option("--by", "by", help="Who typed it (default: $TMA_USER, else the login name).")
@click.argument("title")
@click.argument("description", required=False, default="")
@click.pass_obj
def requests_add(
    state: _State,
    site_id: str,
    kind: str,
    estimate: str | None,
    priority: str,
    by: str | None,
    title: str,
    description: str,
) -> None:
    """Record a request typed by a person (a bug to fix, an evolution): it goes to the ticket
    system like the agent's own, and time can be logged against it."""
    from tma_agent.ledger import open_ledger
    from tma_agent.tickets.manual import add_request, parse_estimate

    minutes = parse_estimate(estimate) if estimate is not None else None
    backends = _backends(state)
    try:
        with open_ledger(state.config) as ledger:
            request = add_request(
                ledger,
                state.config,
                backends,
                site_id=site_id,
                kind=kind,
                title=title,
                description=description,
                priority=priority,
                estimate_minutes=minutes,
                actor=by or _login(),
            )
            from tma_agent.tickets.outbox import send_outbox

            report = send_outbox(ledger, backends.for_request, request_ids=[request.id])
            from tma_agent.tickets.views import show_request

            shown = show_request(ledger, str(request.id))
    finally:
        backends.close()
    click.echo(
        f"request #{shown['id']} {shown['fingerprint']}: {shown['state']}, "
        f"ticket {shown['ticket'] or 'queued'}"
    )
    for error in report.errors:
        click.echo(f"ticket system: {error}", err=True)
    if report.errors:
        sys.exit(3)


def _login() -> str:
    import getpass
    import os

    return os.environ.get("TMA_USER") or getpass.getuser()


@requests_group.command("show")
@click.argument("reference")
@_FORMAT
@click.pass_obj
def requests_show(state: _State, reference: str, fmt: str | None) -> None:
    """Show one request (ledger id, fingerprint or ticket reference) with its history."""
    from tma_agent.ledger import open_ledger
    from tma_agent.tickets.views import show_request

    with open_ledger(state.config) as ledger:
        data = show_request(ledger, reference)
    if _fmt(fmt) == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for key in (
        "id",
        "fingerprint",
        "site",
        "client",
        "kind",
        "state",
        "priority",
        "estimate",
        "ticket",
        "ticket_status",
    ):
        click.echo(f"{key + ':':<15}{_cell(data.get(key))}")
    for v in data["validations"]:
        click.echo(f"{'validated:':<15}{v['by']} ({v['source']}, {v['at']})")
    click.echo("history:")
    for e in data["events"]:
        click.echo(f"  {e['at']}  {e['from'] or '-'} → {e['to']}  by {e['actor']} ({e['source']})")
    for o in data["outbox"]:
        click.echo(f"  outbox #{o['id']} {o['operation']}: {o['state']} ({o['answer'] or '-'})")
    click.echo("")
    click.echo(data["description"])


@requests_group.command("validate")
@click.argument("reference")
@click.option("--by", "by", required=True, help="Who validated (the client's name).")
@click.pass_obj
def requests_validate(state: _State, reference: str, by: str) -> None:
    """Record the client's validation of a request (for backends that cannot express one)."""
    from tma_agent.ledger import open_ledger
    from tma_agent.tickets.sync import validate_request

    with open_ledger(state.config) as ledger:
        request = validate_request(ledger, reference, by)
        first = request.validations[0]
    click.echo(
        f"request #{request.id} {request.fingerprint}: validated by {first.validated_by} "
        f"({first.source}, {first.at.isoformat(timespec='seconds')})"
    )


@requests_group.command("reject")
@click.argument("reference")
@click.option("--by", "by", required=True, help="Who rejected (the client's name).")
@click.pass_obj
def requests_reject(state: _State, reference: str, by: str) -> None:
    """Record the client's rejection of a request: it stays closed until a newer target."""
    from tma_agent.ledger import open_ledger
    from tma_agent.tickets.sync import reject_request

    with open_ledger(state.config) as ledger:
        request = reject_request(ledger, reference, by)
    click.echo(f"request #{request.id} {request.fingerprint}: {request.state.value} by {by}")


@requests_group.command("sync")
@click.pass_obj
def requests_sync(state: _State) -> None:
    """Read the requests' states back from the ticket systems now (validations, rejections)."""
    from tma_agent.ledger import open_ledger
    from tma_agent.tickets.sync import sync_states

    backends = _backends(state)
    try:
        with open_ledger(state.config) as ledger:
            report = sync_states(ledger, backends.target_of)
    finally:
        backends.close()
    for change in report.changes:
        click.echo(
            f"{change.fingerprint}: ticket {change.ticket} is {change.status!r}: {change.change}"
        )
    click.echo(f"{len(report.changes)} request(s) changed")
    for error in report.errors:
        click.echo(f"ticket system: {error}", err=True)
    if report.errors:
        sys.exit(3)


@requests_group.command("retry")
@click.argument("reference", required=False)
@click.pass_obj
def requests_retry(state: _State, reference: str | None) -> None:
    """Send parked ticket writes again (all, or one request's), then the rest of the outbox,
    time entries and notices included."""
    from tma_agent.billing.notices import send_notices
    from tma_agent.billing.sender import send_time_entries
    from tma_agent.ledger import open_ledger
    from tma_agent.ledger.locks import LockHeld
    from tma_agent.tickets.outbox import send_outbox
    from tma_agent.tickets.views import unpark

    backends = _backends(state)
    try:
        with open_ledger(state.config) as ledger:
            count = unpark(ledger, reference)
            report = send_outbox(ledger, backends.for_request)
            # Time entries too (parked ones included): after the tickets they are logged on.
            try:
                report.errors += send_time_entries(ledger, backends).errors
            except LockHeld as exc:
                report.errors.append(f"time entries: {exc}")
            # And the notices (bucket alerts, validated months), which the outbox counts too.
            report.errors += send_notices(ledger, backends).errors
            from tma_agent.tickets.views import outbox_counts

            queued, parked = outbox_counts(ledger)
    finally:
        backends.close()
    click.echo(f"{count} parked write(s) queued again; outbox: {queued} queued, {parked} parked")
    for error in report.errors:
        click.echo(f"ticket system: {error}", err=True)
    if queued or parked:
        sys.exit(3)


@click.group("tickets")
def tickets_group() -> None:
    """The ticket systems the requests go to."""


@tickets_group.command("check")
@click.pass_obj
def tickets_check(state: _State) -> None:
    """Check each configured ticket system: credentials, project, fields, statuses; say
    exactly what an admin must create or fix."""
    from tma_agent.tickets import TicketError

    backends = _backends(state)
    failed = False
    seen: set[str] = set()
    try:
        # No clients yet: the global block alone (a client id no client has).
        for client_id in [c.id for c in state.config.clients] or [""]:
            key, info, backend = backends.backend(client_id)
            if key in seen:
                continue
            seen.add(key)
            where = backends.target(client_id).where
            try:
                problems = backend.check()
            except TicketError as exc:
                problems = [str(exc)]
            failed |= bool(problems)
            verdict = "ready" if not problems else f"{len(problems)} problem(s)"
            click.echo(f"{where} ({info.name}): {verdict}")
            for problem in problems:
                click.echo(f"  - {problem}")
    finally:
        backends.close()
    if failed:
        sys.exit(2)


def register_commands(cli: click.Group) -> None:
    for command in (run_command, requests_group, tickets_group):
        cli.add_command(command)
