"""`tma apply` and `tma deploy`: updates applied in staging, then the tested commit deployed
to production for a validated request (docs/apply.md). Heavy imports stay in the commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tma_agent.apply.service import ApplyOutcome
    from tma_agent.cli import _State
    from tma_agent.tickets.targets import Backends

__all__ = ["register_commands", "send_request_writes"]

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    help="Default: table on a terminal, else json.",
)


@click.command("apply")
@click.option("--site", "site_id", required=True, metavar="ID")
@click.option(
    "--component", "components", multiple=True, metavar="NAME", help="Only this (repeatable)."
)
@click.option("--request", "request_ref", metavar="REF", help="The request this work is for.")
@click.option("--dry-run", is_flag=True, help="Print every command; change nothing.")
@_FORMAT
@click.pass_obj
def apply_command(
    state: _State,
    site_id: str,
    components: tuple[str, ...],
    request_ref: str | None,
    dry_run: bool,
    fmt: str | None,
) -> None:
    """Apply a site's updates in staging with the stack's playbook; the request moves to
    `tested` (exit 4: failed and rolled back; 5: the site is locked; 7: outside a window)."""
    from tma_agent.apply.prepare import site_by_id
    from tma_agent.apply.service import apply_site

    site = site_by_id(state.config, site_id)
    _check_config(state)
    with _waiting():
        outcome = apply_site(
            state.config,
            state.pm,
            site,
            components=components,
            request_ref=request_ref,
            dry_run=dry_run,
        )
    finish(state, outcome, fmt, dry_run=dry_run)


@click.command("deploy")
@click.option("--site", "site_id", required=True, metavar="ID")
@click.option("--request", "request_ref", required=True, metavar="REF")
@click.option("--dry-run", is_flag=True, help="Print every command; change nothing.")
@_FORMAT
@click.pass_obj
def deploy_command(
    state: _State, site_id: str, request_ref: str, dry_run: bool, fmt: str | None
) -> None:
    """Bring production to the exact commit tested in staging, for a request the client
    validated (exit 6 otherwise; 4: failed and rolled back)."""
    from tma_agent.apply.deploy import deploy_site
    from tma_agent.apply.prepare import site_by_id

    site = site_by_id(state.config, site_id)
    _check_config(state)
    backends = _backends(state)
    try:
        with _waiting():
            outcome = deploy_site(
                state.config, state.pm, site, request_ref, backends=backends, dry_run=dry_run
            )
    finally:
        backends.close()
    finish(state, outcome, fmt, dry_run=dry_run)


@contextmanager
def _waiting() -> Iterator[None]:
    """A window or a freeze says "not now": said as such (not as an error), exit 7."""
    from tma_agent.apply.gate import Waiting

    try:
        yield
    except Waiting as exc:
        click.echo(f"waiting: {exc}", err=True)
        sys.exit(exc.exit_code)


def _check_config(state: _State) -> None:
    from tma_agent.plugin_settings import registered_settings
    from tma_agent.plugins import registered_sources, registered_stacks

    state.config.check_stacks(registered_stacks(state.pm))
    state.config.check_sources(registered_sources(state.pm))
    state.config.check_settings(registered_settings(state.pm))


def _backends(state: _State) -> Backends:
    """The ticket backends, the configuration checked first (as `tma run` does)."""
    from tma_agent.cli_requests import _backends as backends_of

    return backends_of(state)


def finish(state: _State, outcome: ApplyOutcome, fmt: str | None, *, dry_run: bool) -> None:
    """Send the request's ticket writes, print the outcome, exit with its code."""
    from tma_agent.cli import EXIT_FAILED

    errors = (
        [] if dry_run or outcome.request is None else send_request_writes(state, outcome.request)
    )
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        click.echo(json.dumps({**outcome.to_dict(), "dry_run": dry_run}, indent=2, default=str))
    else:
        _print(outcome, dry_run)
    for error in errors:
        click.echo(f"ticket system: {error}", err=True)
    if outcome.error:
        click.echo(f"error: {outcome.error}", err=True)
    if not outcome.ok:
        sys.exit(EXIT_FAILED)


def send_request_writes(state: _State, request_id: int) -> list[str]:
    """The request's queued ticket writes and time entries, sent now (what stays queued goes
    with the next `tma run`)."""
    from tma_agent.billing.sender import send_time_entries
    from tma_agent.ledger import open_ledger
    from tma_agent.ledger.locks import LockHeld
    from tma_agent.tickets.outbox import send_outbox

    backends = _backends(state)
    try:
        with open_ledger(state.config) as ledger:
            errors = send_outbox(ledger, backends.for_request, request_ids=[request_id]).errors
            try:
                errors += send_time_entries(ledger, backends).errors
            except LockHeld as exc:
                errors.append(f"time entries: {exc}")
    finally:
        backends.close()
    return errors


def _print(outcome: ApplyOutcome, dry_run: bool) -> None:
    for recovered in outcome.recovered:
        click.echo(f"recovered: {recovered['message']}")
    if not outcome.findings and outcome.state == "nothing":
        click.echo(f"{outcome.site}: nothing to {outcome.action} in {outcome.env}")
        return
    head = "dry run of" if dry_run else outcome.action
    request = f" for request #{outcome.request}" if outcome.request else ""
    click.echo(
        f"{head} {outcome.playbook} on {outcome.site} ({outcome.env}){request}: {outcome.state}"
    )
    for finding in outcome.findings:
        click.echo(f"  {finding['name']} {finding['installed']} → {finding['recommended']}")
    for step in outcome.steps:
        phase = "undo " if step["phase"] == "on_failure" else ""
        error = f": {step['error']}" if step["error"] else ""
        click.echo(f"  {phase}{step['index'] + 1}. {step['title']} [{step['status']}]{error}")
        for command in step["commands"]:
            if dry_run or command.get("exit_code") not in (0, None):
                mark = "(read) " if command["probe"] else ""
                click.echo(f"      {mark}{command['host']}:{command['cwd']}$ {command['command']}")
    if outcome.commit:
        click.echo(f"  tested commit: {outcome.commit}")
    for note in outcome.notes:
        click.echo(f"  note: {note}")


def register_commands(cli: click.Group) -> None:
    for command in (apply_command, deploy_command):
        cli.add_command(command)
