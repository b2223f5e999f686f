"""`tma time ...`, `tma contract ...` and `tma report ...`: the billing commands. The groups
live here; their commands are in this module (time, contract), `cli_report` (report) and
`cli_time_sync` (time reconcile). Heavy imports stay inside the commands."""

from __future__ import annotations

import click

__all__ = ["contract_group", "register_commands", "report_group", "time_group"]


@click.group("time")
def time_group() -> None:
    """Billable time: log, list, edit, delete, reconcile with the ticket system (README: Billing)."""


@click.group("contract")
def contract_group() -> None:
    """Clients' contracts: the bucket of man-days (README: Billing)."""


@click.group("report")
def report_group() -> None:
    """The monthly client report, and its validation (README: Billing)."""


def register_commands(cli: click.Group) -> None:
    # The modules adding commands to the groups above.
    from tma_agent import cli_report, cli_time_sync  # noqa: F401

    for group in (time_group, contract_group, report_group):
        cli.add_command(group)
