"""`tma time sync` (send the queued time entries) and `tma time reconcile` (the ledger's
interventions against the ticket system's time entries): commands of the `time` group
(tma_agent.cli_billing)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from tma_agent.cli_billing import time_group

if TYPE_CHECKING:
    from tma_agent.billing.reconcile import Reconciled
    from tma_agent.cli import _State
    from tma_agent.tickets.targets import Backends

__all__ = ["send_after_change"]


def _backends(state: _State) -> Backends:
    from tma_agent.cli_requests import _backends as build

    return build(state)


def send_after_change(state: _State) -> list[str]:
    """For `tma time log/edit/delete`: send the queued time entries now (the change itself is
    committed already; what cannot be sent stays queued for the next run). The errors."""
    from tma_agent.billing.notices import send_notices
    from tma_agent.billing.sender import send_time_entries
    from tma_agent.ledger import open_ledger
    from tma_agent.ledger.locks import LockHeld

    backends = _backends(state)
    try:
        with open_ledger(state.config) as ledger:
            # A bucket alert the change raised goes to the client's project now, too.
            errors = send_notices(ledger, backends).errors
            return errors + send_time_entries(ledger, backends).errors
    except LockHeld:
        return []  # another process is sending them right now: this one goes too
    finally:
        backends.close()


@time_group.command("sync")
@click.pass_obj
def time_sync(state: _State) -> None:
    """Send the queued time entries to the ticket systems, and the billing's notices (bucket
    alerts, validated months). Exit 3 when some are left queued or parked (`tma requests
    retry` sends parked ones again)."""
    from sqlalchemy import func, select

    from tma_agent.billing.notices import NOTICE, send_notices
    from tma_agent.billing.sender import send_time_entries
    from tma_agent.ledger import open_ledger
    from tma_agent.ledger.models import OutboxItem, OutboxState
    from tma_agent.tickets.delivery import PENDING

    backends = _backends(state)
    try:
        with open_ledger(state.config) as ledger:
            notices = send_notices(ledger, backends)
            report = send_time_entries(ledger, backends)
            with ledger.session() as session:

                def count(states: tuple[OutboxState, ...]) -> int:
                    billing = OutboxItem.intervention_id.is_not(None) | (
                        OutboxItem.operation == NOTICE
                    )
                    query = select(func.count()).where(billing, OutboxItem.state.in_(states))
                    return int(session.scalar(query) or 0)

                queued, parked = count(PENDING), count((OutboxState.PARKED,))
    finally:
        backends.close()
    done = sum(len(ops) for ops in report.done.values())
    sent = f", {len(notices.sent)} notice(s)" if notices.sent else ""
    click.echo(f"{done} time entry write(s){sent} sent; {queued} queued, {parked} parked")
    for error in notices.errors + report.errors:
        click.echo(f"ticket system: {error}", err=True)
    if queued or parked:
        sys.exit(3)


@time_group.command("reconcile")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month to compare.")
@click.option("--client", metavar="ID", help="Only this client.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    help="Default: table on a terminal, else json.",
)
@click.pass_obj
def time_reconcile(state: _State, month: str, client: str | None, fmt: str | None) -> None:
    """Compare the month's interventions with the ticket systems' time entries and list every
    difference (missing, extra, hours, date). Exit 0 when they agree, 1 when they differ."""
    from tma_agent.billing.reconcile import parse_month, reconcile_month
    from tma_agent.ledger import open_ledger

    month = parse_month(month)
    backends = _backends(state)
    try:
        with open_ledger(state.config) as ledger:
            result = reconcile_month(ledger, backends, month, client)
    finally:
        backends.close()
    if (fmt or ("table" if sys.stdout.isatty() else "json")) == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_table(result)
    if result.differences:
        sys.exit(1)


def _print_table(result: Reconciled) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"time entries {result.month}")
    for column in ("client", "problem", "intervention", "site", "ticket", "entry"):
        table.add_column(column, overflow="fold")
    for column in ("ledger h", "ticket h", "detail"):
        table.add_column(column, overflow="fold")
    for d in result.differences:
        cells = (d.client, d.problem, d.intervention, d.site, d.ticket, d.entry)
        table.add_row(
            *("-" if c is None else str(c) for c in cells),
            _h(d.ledger_minutes),
            _h(d.remote_minutes),
            d.detail,
        )
    console.print(table)
    for name, backend in result.skipped.items():
        console.print(f"{name}: {backend} keeps no time (not compared)")
    count = len(result.differences)
    console.print(
        f"ledger {_h(result.ledger_minutes)} h, ticket systems {_h(result.remote_minutes)} h: "
        + (f"{count} difference(s)" if count else "they agree")
    )


def _h(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"
