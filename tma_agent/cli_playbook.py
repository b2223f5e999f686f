"""`tma playbook list|show|run`: the playbooks an agency runs from its shell."""

from __future__ import annotations

import json
import sys
from functools import partial
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from tma_agent.apply.context import StepContext
    from tma_agent.apply.engine import PlaybookOutcome
    from tma_agent.apply.playbook import Playbook
    from tma_agent.cli import _State
    from tma_agent.config import Site
    from tma_agent.ledger.database import Ledger

__all__ = ["playbook_group", "register_commands"]

#: Environments a playbook may only touch for a validated request (`tma deploy`'s rule).
PRODUCTION = "production"


@click.group("playbook")
def playbook_group() -> None:
    """Playbooks: list them, show one, run one on a site (README: Apply)."""


def _fmt(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")


def _steps_and_settings(state: _State) -> tuple[dict[str, Any], Any]:
    from tma_agent.apply.registry import registered_steps

    return registered_steps(state.pm), state.config.apply


@playbook_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]))
@click.pass_obj
def playbook_list(state: _State, fmt: str | None) -> None:
    """Every playbook found, where it comes from, and what it is for."""
    from tma_agent.apply.registry import find_playbooks

    steps, settings = _steps_and_settings(state)
    entries = find_playbooks(state.pm, settings, steps)
    if _fmt(fmt) == "json":
        rows = [
            {
                "name": e.name,
                "origin": e.origin,
                "path": str(e.path),
                "stacks": list(e.playbook.stacks) if e.playbook else [],
                "description": e.playbook.description if e.playbook else "",
                "error": e.error,
                "hides": [str(p) for p in e.hides],
            }
            for e in entries
        ]
        click.echo(json.dumps({"playbooks": rows}, indent=2))
        return
    for e in entries:
        stacks = ",".join(e.playbook.stacks) if e.playbook and e.playbook.stacks else "any"
        what = e.error if e.error else (e.playbook.description if e.playbook else "")
        click.echo(f"{e.name:<24} {stacks:<20} {e.origin:<22} {e.path}")
        if what:
            click.echo(f"{'':<24} {what}")


@playbook_group.command("show")
@click.argument("name")
@click.pass_obj
def playbook_show(state: _State, name: str) -> None:
    """A playbook's variables and steps."""
    from tma_agent.apply.registry import playbook_by_name

    steps, settings = _steps_and_settings(state)
    playbook = playbook_by_name(name, state.pm, settings, steps)
    click.echo(f"{playbook.name}: {playbook.description}")
    click.echo(f"file: {playbook.path}")
    click.echo(f"stacks: {', '.join(playbook.stacks) or 'any'}")
    if playbook.variables:
        click.echo("variables:")
        for v in playbook.variables.values():
            default = " (required)" if v.required else f" (default: {v.default!r})"
            click.echo(f"  {v.name}{default}  {v.description}")
    for title, group in (("steps", playbook.steps), ("on_failure", playbook.on_failure)):
        if group:
            click.echo(f"{title}:")
            for i, step in enumerate(group, 1):
                when = f"  when: {step.when}" if step.when else ""
                click.echo(f"  {i}. {step.title} [{step.step}]{when}")


@playbook_group.command("run")
@click.argument("name")
@click.option("--site", "site_id", required=True, metavar="ID")
@click.option("--env", "env_name", default="staging", show_default=True)
@click.option("--var", "var_items", multiple=True, metavar="NAME=VALUE", help="Repeatable.")
@click.option(
    "--request",
    "request_ref",
    metavar="REF",
    help="The request this work is for; production needs one the client validated.",
)
@click.option("--dry-run", is_flag=True, help="Print every command; run nothing that changes.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]))
@click.pass_obj
def playbook_run(
    state: _State,
    name: str,
    site_id: str,
    env_name: str,
    var_items: tuple[str, ...],
    request_ref: str | None,
    dry_run: bool,
    fmt: str | None,
) -> None:
    """Run playbook NAME on one environment of a site (staging by default), under the site's
    lock and journaled in the ledger; production only for a validated `--request`."""
    from tma_agent.apply.prepare import parse_var_options, site_by_id
    from tma_agent.apply.registry import playbook_by_name
    from tma_agent.apply.running import execute
    from tma_agent.apply.service import site_session
    from tma_agent.cli import EXIT_FAILED, EXIT_REFUSED

    config = state.config
    steps, _ = _steps_and_settings(state)
    site = site_by_id(config, site_id)
    playbook = playbook_by_name(name, state.pm, config.apply_for(site), steps)
    variables = parse_var_options(var_items)
    production = env_name == PRODUCTION
    if production and request_ref is None:
        click.echo(
            "refused: production is changed only for a validated request (--request REF, "
            "or tma deploy)",
            err=True,
        )
        sys.exit(EXIT_REFUSED)
    # Windows and freezes hold production back; staging work typed by a person goes ahead.
    what = "playbook run" if production else None
    with site_session(config, state.pm, site, what=what, dry_run=dry_run) as (ledger, recovered):
        for done in recovered:
            click.echo(f"recovered: {done['message']}", err=True)
        request_id = fingerprint = None
        if request_ref is not None:
            if ledger is None:
                click.echo(f"refused: --request {request_ref}: there is no ledger yet", err=True)
                sys.exit(EXIT_REFUSED)
            request_id, fingerprint = _request(
                state, ledger, site, request_ref, production, dry_run
            )
        record = None
        if request_id is not None:
            from tma_agent.apply.playbook_runs import record_playbook_run

            record = partial(record_playbook_run, config, site, env_name, request_id)
        execution = execute(
            ledger,
            config,
            state.pm,
            site,
            env_name,
            playbook,
            variables,
            steps,
            action="playbook",
            dry_run=dry_run,
            request_id=request_id,
            request_ref=fingerprint,
            record=record,
        )
    errors: list[str] = []
    if request_id is not None and execution.journal_id is not None:
        from tma_agent.cli_apply import send_request_writes

        # Sent now, like an apply's; what the ticket system does not take goes with `tma run`.
        errors = send_request_writes(state, request_id)
    show_outcome(execution.outcome, execution.ctx, playbook, _fmt(fmt))
    for error in errors:
        click.echo(f"ticket system: {error}", err=True)
    if not execution.outcome.ok:
        sys.exit(EXIT_FAILED)


def _request(
    state: _State, ledger: Ledger, site: Site, reference: str, production: bool, dry_run: bool
) -> tuple[int, str]:
    """The request's id and fingerprint; for production, validated (else exit 6)."""
    from tma_agent.apply.deploy import validated_request
    from tma_agent.tickets.lookup import find_request

    if not production:
        with ledger.session() as session:
            request = find_request(session, reference)
        return request.id, request.fingerprint
    from tma_agent.cli_requests import _backends

    backends = _backends(state)
    try:
        request, _who = validated_request(ledger, site, reference, backends, dry_run=dry_run)
    finally:
        backends.close()
    return request.id, request.fingerprint


def show_outcome(outcome: PlaybookOutcome, ctx: StepContext, playbook: Playbook, fmt: str) -> None:
    """The result of a playbook run: JSON, or one line per step (dry-run: every command)."""
    if fmt == "json":
        click.echo(json.dumps(outcome.to_dict(ctx), indent=2, default=str))
        return
    head = "dry run of" if outcome.dry_run else "ran"
    click.echo(f"{head} {playbook.name} on {outcome.site} ({outcome.env}): {outcome.status}")
    for step in outcome.steps:
        phase = "undo " if step.phase == "on_failure" else ""
        error = f": {step.error}" if step.error else ""
        click.echo(f"  {phase}{step.index + 1}. {step.title} [{step.status}]{error}")
        for command in step.commands:
            if outcome.dry_run or command.get("exit_code") not in (0, None):
                mark = "(read) " if command["probe"] else ""
                click.echo(f"      {mark}{command['host']}:{command['cwd']}$ {command['command']}")
    for note in ctx.notes:
        click.echo(f"  note: {note}")
    if outcome.error and outcome.status != "refused":
        click.echo(f"error: {outcome.error}", err=True)
    elif outcome.error:
        click.echo(f"refused: {outcome.error}", err=True)


def register_commands(cli: click.Group) -> None:
    cli.add_command(playbook_group)
