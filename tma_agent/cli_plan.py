"""`tma plan`: the team's workload plan for the next weeks (README: Workload plan)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tma_agent.cli import _State

__all__ = ["plan_command", "register_commands"]


@click.command("plan")
@click.option("--weeks", type=click.IntRange(1, 8), help="Horizon in weeks (planning.weeks).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    help="Default: table on a terminal, else json.",
)
@click.option(
    "--start",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Plan from this day (default: today in the configured timezone).",
)
@click.pass_obj
def plan_command(
    state: _State, weeks: int | None, fmt: str | None, start: dt.datetime | None
) -> None:
    """Assign the open requests to the team by skill, priority and SLA deadline; show each
    person's load per week, and what does not fit or misses its SLA."""
    from tma_agent.ledger import open_ledger
    from tma_agent.plugins import registered_stacks
    from tma_agent.service.planning.build import build_plan
    from tma_agent.service.planning.views import plan_csv, plan_table

    config = state.config
    stacks = registered_stacks(state.pm)
    with open_ledger(config) as ledger:
        plan = build_plan(
            config, ledger, stacks, start=start.date() if start else None, weeks=weeks
        )
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        click.echo(json.dumps(plan, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(plan_csv(plan), nl=False)
    else:
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        click.echo(plan_table(plan, width), nl=False)


def register_commands(cli: click.Group) -> None:
    cli.add_command(plan_command)
