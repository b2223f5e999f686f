"""`tma time ...`, `tma contract ...` and `tma report ...`: the billing commands. The groups
live here; their commands are in this module (time, contract), `cli_report` (report) and
`cli_time_sync` (time reconcile). Heavy imports stay inside the commands."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import datetime as dt

    from tma_agent.cli import _State
    from tma_agent.config import Config
    from tma_agent.ledger.models import Intervention

__all__ = ["contract_group", "register_commands", "report_group", "time_group"]

_KINDS = click.Choice(["preventive", "corrective", "evolutive"])
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@click.group("time")
def time_group() -> None:
    """Billable time: log, list, edit, delete, reconcile with the ticket system (README: Billing)."""


@click.group("contract")
def contract_group() -> None:
    """Clients' contracts: the bucket of man-days (README: Billing)."""


@click.group("report")
def report_group() -> None:
    """The monthly client report, and its validation (README: Billing)."""


def _fmt(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")


def _today(config: Config) -> dt.date:
    import datetime as dt

    from tma_agent.billing.periods import zone

    return dt.datetime.now(zone(config.timezone)).date()


def _day(text: str | None, config: Config, option: str = "--date") -> dt.date:
    from tma_agent.billing.entries import parse_day

    return _today(config) if text is None else parse_day(text, option)


def _hm(minutes: int) -> str:
    from tma_agent.billing.listing import hours_text

    return hours_text(minutes)


def _said(entry: Intervention, verb: str) -> str:
    adjusts = f", adjusts #{entry.adjusts_id}" if entry.adjusts_id is not None else ""
    return (
        f"time entry #{entry.id} {verb}: {_hm(entry.billed_minutes)} h billed "
        f"({_hm(entry.measured_minutes)} measured), {entry.site} {entry.spent_on.isoformat()} "
        f"{entry.kind.value}{adjusts}"
    )


@time_group.command("log")
@click.argument("description")
@click.option("--site", required=True, metavar="ID", help="The site worked on.")
@click.option("--hours", "hours", required=True, help="Time spent: 1.5, 0.25 (whole minutes).")
@click.option("--kind", required=True, type=_KINDS)
@click.option("--request", "request_ref", metavar="REF", help="The request (id, ticket, ...).")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Day of the work (default: today).")
@click.option("--by", "actor", metavar="NAME", help="Who did it (default: $TMA_USER, login).")
@click.option("--action", default="manual", show_default=True, help="What did the work.")
@click.option("--adjusts", "adjusts_id", type=int, metavar="ID", help="Correct a validated entry.")
@click.pass_obj
def time_log(
    state: _State,
    description: str,
    site: str,
    hours: str,
    kind: str,
    request_ref: str | None,
    day: str | None,
    actor: str | None,
    action: str,
    adjusts_id: int | None,
) -> None:
    """Log time spent on a site by hand; prints the entry's id and billed time. With
    --adjusts ID, a correction (--hours may be negative) of an entry of a validated month."""
    from tma_agent.billing.alerts import check_alerts
    from tma_agent.billing.entries import EntryError, default_actor, log_time, parse_hours
    from tma_agent.ledger import open_ledger
    from tma_agent.tickets.lookup import find_request

    config = state.config
    minutes = parse_hours(hours, signed=adjusts_id is not None)
    when = _day(day, config)
    with open_ledger(config) as ledger, ledger.session() as session:
        request_id = None
        if request_ref is not None:
            request = find_request(session, request_ref)
            if request.site != site:
                raise EntryError(
                    f"--request {request_ref}: request #{request.id} is {request.site}'s"
                )
            request_id = request.id
        entry = log_time(
            session,
            config,
            site=site,
            minutes=minutes,
            kind=kind,
            description=description,
            actor=actor or default_actor(),
            day=when,
            action=action,
            request_id=request_id,
            adjusts_id=adjusts_id,
        )
        alerts = check_alerts(session, config, entry.client, entry.spent_on)
        said = _said(entry, "adjustment logged" if adjusts_id is not None else "logged")
    click.echo(said)
    for alert in alerts:
        click.echo(f"bucket alert: {alert.message}", err=True)
    _send_entries(state)


def _send_entries(state: _State) -> None:
    """The change is recorded: its time entry goes to the ticket system now, or stays queued
    for the next run (exit 3, as every command that leaves ticket work queued)."""
    from tma_agent.cli_time_sync import send_after_change

    errors = send_after_change(state)
    for error in errors:
        click.echo(f"ticket system: {error}", err=True)
    if errors:
        sys.exit(3)


@time_group.command("edit")
@click.argument("entry_id", type=int)
@click.option("--hours", "hours", help="New time spent (whole minutes).")
@click.option("--kind", type=_KINDS)
@click.option("--date", "day", metavar="YYYY-MM-DD")
@click.option("--description")
@click.option("--by", "actor", metavar="NAME")
@click.pass_obj
def time_edit(
    state: _State,
    entry_id: int,
    hours: str | None,
    kind: str | None,
    day: str | None,
    description: str | None,
    actor: str | None,
) -> None:
    """Change an entry while its month (and the month it moves to) is open."""
    from tma_agent.billing.alerts import check_alerts
    from tma_agent.billing.entries import EntryError, edit_time, parse_day, parse_hours
    from tma_agent.ledger import open_ledger

    if all(v is None for v in (hours, kind, day, description, actor)):
        raise EntryError("nothing to change: give --hours, --kind, --date, --description or --by")
    config = state.config
    with open_ledger(config) as ledger, ledger.session() as session:
        entry = edit_time(
            session,
            config,
            entry_id,
            minutes=None if hours is None else parse_hours(hours, signed=True),
            kind=kind,
            day=None if day is None else parse_day(day),
            description=description,
            actor=actor,
        )
        alerts = check_alerts(session, config, entry.client, entry.spent_on)
        said = _said(entry, f"edited (revision {entry.revision})")
    click.echo(said)
    for alert in alerts:
        click.echo(f"bucket alert: {alert.message}", err=True)
    _send_entries(state)


@time_group.command("delete")
@click.argument("entry_id", type=int)
@click.pass_obj
def time_delete(state: _State, entry_id: int) -> None:
    """Delete an entry while its month is open (its ticket time entry is removed too)."""
    from tma_agent.billing.entries import delete_time
    from tma_agent.ledger import open_ledger

    with open_ledger(state.config) as ledger, ledger.session() as session:
        entry = delete_time(session, entry_id)
        said = f"time entry #{entry.id} deleted ({_hm(entry.billed_minutes)} h no longer billed)"
    click.echo(said)
    _send_entries(state)


@time_group.command("list")
@click.option("--client", metavar="ID")
@click.option("--site", metavar="ID")
@click.option("--month", metavar="YYYY-MM")
@click.option("--deleted", is_flag=True, help="Show deleted entries too (they bill nothing).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]))
@click.option("--csv-bom", is_flag=True, help="CSV: start with a UTF-8 BOM (Excel).")
@click.option("--delimiter", default=",", show_default=True, help="CSV: the separator (; for fr).")
@click.option("--totals", is_flag=True, help="CSV: end with a `total` row.")
@click.pass_obj
def time_list(
    state: _State,
    client: str | None,
    site: str | None,
    month: str | None,
    deleted: bool,
    fmt: str | None,
    csv_bom: bool,
    delimiter: str,
    totals: bool,
) -> None:
    """List time entries, oldest first, with their totals (table on a terminal, else json)."""
    from tma_agent.billing.entries import EntryError
    from tma_agent.billing.listing import entries_csv, list_entries
    from tma_agent.ledger import open_ledger

    config = state.config
    if month is not None and not _MONTH.match(month):
        raise EntryError(f"--month {month!r}: not a month (YYYY-MM)")
    if client is not None and all(c.id != client for c in config.clients):
        raise EntryError(f"--client {client!r}: no such client in the configuration")
    if site is not None and all(s.id != site for s in config.sites):
        raise EntryError(f"--site {site!r}: no such site in the configuration")
    if len(delimiter) != 1:
        raise EntryError(f"--delimiter {delimiter!r}: one character (, or ;)")
    with open_ledger(config) as ledger, ledger.session() as session:
        listing = list_entries(session, client=client, site=site, month=month, deleted=deleted)
    fmt = _fmt(fmt)
    if fmt == "json":
        click.echo(json.dumps(listing, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        text = entries_csv(listing, delimiter=delimiter, bom=csv_bom, totals=totals)
        sys.stdout.buffer.write(text.encode("utf-8"))
    else:
        _entries_table(listing)


def _entries_table(listing: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    for column in ("id", "date", "site", "kind", "by", "billed", "measured", "description"):
        table.add_column(column, overflow="fold")
    for e in listing["entries"]:
        note = f"[adjusts #{e['adjusts']}] " if e["adjusts"] is not None else ""
        note = ("[deleted] " if e["deleted"] else "") + note
        table.add_row(
            str(e["id"]),
            e["date"],
            e["site"],
            e["kind"],
            escape(e["by"]),
            _hm(e["billed_minutes"]),
            _hm(e["measured_minutes"]),
            # Typed by people: `[b]` in a description is text, not rich markup.
            escape(note + e["description"]),
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    t = listing["totals"]
    click.echo(
        f"{t['entries']} entries: {_hm(t['billed_minutes'])} h billed "
        f"({_hm(t['measured_minutes'])} measured)"
    )


@contract_group.command("status")
@click.option("--client", metavar="ID", help="Only this client.")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The period containing this day.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]))
@click.pass_obj
def contract_status(state: _State, client: str | None, day: str | None, fmt: str | None) -> None:
    """Each client's bucket in the current period: bought, carried over, consumed, remaining,
    overage, used %, and when it runs out at the current burn rate."""
    from tma_agent.billing.status import contract_statuses
    from tma_agent.ledger import open_ledger

    config = state.config
    when = _day(day, config)
    with open_ledger(config) as ledger, ledger.session() as session:
        rows = contract_statuses(session, config, when, client)
    if _fmt(fmt) == "json":
        click.echo(json.dumps({"date": when.isoformat(), "clients": rows}, indent=2))
        return
    _status_table(rows)


def _status_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    columns = ("client", "period", "bought", "carried", "consumed", "remaining", "overage")
    table = Table()
    for column in (*columns, "used", "runs out"):
        table.add_column(column, overflow="fold")
    for r in rows:
        if not r["contract"]:
            table.add_row(r["client"], "no contract", *["-"] * 7)
            continue
        amount = (
            f" = {r['overage_amount']} {r['currency']}"
            if r["overage_minutes"] and r["overage_amount"]
            else ""
        )
        table.add_row(
            r["client"],
            f"{r['period_start']} .. {r['period_end']}",
            _hm(r["bought_minutes"]),
            _hm(r["carried_minutes"]),
            _hm(r["consumed_minutes"]),
            _hm(r["remaining_minutes"]),
            _hm(r["overage_minutes"]) + amount,
            f"{r['used_percent']} %",
            r["projected_exhaustion"] or "-",
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def register_commands(cli: click.Group) -> None:
    # The modules adding commands to the groups above.
    from tma_agent import cli_report, cli_time_sync  # noqa: F401

    for group in (time_group, contract_group, report_group):
        cli.add_command(group)
