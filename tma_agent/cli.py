"""The `tma` command line.

Start-up is kept light (`tma --version` and `tma --help` are run by scripts and shells): heavy
libraries (httpx, paramiko, pydantic, rich, structlog) and the plugins are imported only by the
commands that need them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from tma_agent import __version__
from tma_agent.cli_group import GlobalOptions, LazyCommand, TmaGroup
from tma_agent.errors import ConfigError, TmaError
from tma_agent.fail_on import FAIL_ON_CHOICES

if TYPE_CHECKING:
    import pluggy
    from rich.console import Console

    from tma_agent.config import Config, Site
    from tma_agent.models import SiteReport
    from tma_agent.runner import CheckRun

__all__ = [
    "EXIT_FAILED",
    "EXIT_FINDINGS",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_QUEUED",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "EXIT_WAITING",
    "LAZY_COMMANDS",
    "cli",
    "main",
    "run_checks",
]

EXIT_OK = 0
#: A `--fail-on` condition was met (tma_agent.fail_on).
EXIT_FINDINGS = 1
#: Usage or configuration error (Click uses 2 for usage errors too).
EXIT_USAGE = 2
#: Work left queued or parked in the outbox (a ticket system down, or refusing a write).
EXIT_QUEUED = 3
#: An apply or deploy failed (and was rolled back).
EXIT_FAILED = 4
#: Another run or apply holds the lock.
EXIT_LOCKED = 5
#: Refused by a rule (a deploy without validation, a change to a validated month).
EXIT_REFUSED = 6
#: Outside the site's maintenance windows or in a freeze: nothing was done (try later).
EXIT_WAITING = 7


#: The built-in commands kept in modules of their own, imported only when one of their
#: commands runs (`tma --help` lists them from here). One line registers one: the module has
#: `register_commands(cli)` (or adds its commands to `cli` on import), and the text is the
#: first sentence of the command's help (tests/test_cli_lazy.py keeps the two in step).
LAZY_COMMANDS: dict[str, LazyCommand] = {
    "apply": LazyCommand("tma_agent.cli_apply", "Apply a site's updates in staging with the stack's playbook; the request moves to `tested` (exit 4: failed and rolled back; 5: the site is locked; 7: outside a window)."),
    "deploy": LazyCommand("tma_agent.cli_apply", "Bring production to the exact commit tested in staging, for a request the client validated (exit 6 otherwise; 4: failed and rolled back)."),
    "contract": LazyCommand("tma_agent.cli_billing", "Clients' contracts: the bucket of man-days (README: Billing)."),
    "plan": LazyCommand("tma_agent.cli_plan", "Assign the open requests to the team by skill, priority and SLA deadline; show each person's load per week, and what does not fit or misses its SLA."),
    "playbook": LazyCommand("tma_agent.cli_playbook", "Playbooks: list them, show one, run one on a site (README: Apply)."),
    "report": LazyCommand("tma_agent.cli_billing", "The monthly client report, and its validation (README: Billing)."),
    "requests": LazyCommand("tma_agent.cli_requests", "Maintenance requests: list, show, validate, sync, retry (README: Requests)."),
    "serve": LazyCommand("tma_agent.cli_web", "Serve the dashboard, the client portal and the ticket webhooks (docs/web.md)."),
    "users": LazyCommand("tma_agent.cli_web", "Accounts of the dashboard and the client portal (web.users)."),
    "run": LazyCommand("tma_agent.cli_requests", "Check sites, then open, update or close their maintenance requests in the ticket system (README: Requests)."),
    "status": LazyCommand("tma_agent.cli_service", "The last runs, sites not checked successfully for days, ticket writes left waiting."),
    "systemd": LazyCommand("tma_agent.cli_service", "The systemd service and timer that run `tma run` on a schedule."),
    "tickets": LazyCommand("tma_agent.cli_requests", "The ticket systems the requests go to."),
    "time": LazyCommand("tma_agent.cli_billing", "Billable time: log, list, edit, delete, reconcile with the ticket system (README: Billing)."),
}  # fmt: skip


class _State(GlobalOptions):
    def __init__(self, config_path: str | None, log_format: str, verbose: int, quiet: bool) -> None:
        super().__init__(config_path, log_format, verbose, quiet)
        self._config: Config | None = None
        self._pm: pluggy.PluginManager | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from tma_agent.config import find_config_path, load_config

            self._config = load_config(find_config_path(self.config_path))
        return self._config

    @property
    def pm(self) -> pluggy.PluginManager:
        if self._pm is None:
            from tma_agent.plugins import get_plugin_manager

            self._pm = get_plugin_manager(self.config.plugins.block)
        return self._pm


@click.group(
    cls=TmaGroup,
    lazy_commands=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="tma")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default: $TMA_CONFIG, else ./tma.yaml).",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default="auto",
    show_default=True,
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors in the log.")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, log_format: str, verbose: int, quiet: bool
) -> None:
    """tma-agent: check client sites, open maintenance requests, apply updates, bill the time.

    The global options (--config, --log-format, -v, -q) are accepted after the sub-command too.
    """
    ctx.obj = _State(config_path, log_format, verbose, quiet)
    ctx.obj.setup_logging()


@cli.command()
@click.option(
    "--site", "site_ids", multiple=True, metavar="ID", help="Only this site (repeatable)."
)
@click.option("--stack", metavar="NAME", help="Only sites of this stack.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    help="Default: table on a terminal, else json.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    help="Sites checked at once (default: config `concurrency`).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    multiple=True,
    help="Exit 1 when a site has security findings or unreadable security data, updates, "
    "or an error (repeatable; README: exit codes).",
)
@click.pass_obj
def check(
    state: _State,
    site_ids: tuple[str, ...],
    stack: str | None,
    fmt: str | None,
    concurrency: int | None,
    fail_on: tuple[str, ...],
) -> None:
    """Check sites for updates and security advisories."""
    from rich.console import Console

    from tma_agent.fail_on import fail_reasons
    from tma_agent.output import render_json, render_table

    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    reports = run_checks(state, site_ids, stack, concurrency, progress=fmt == "table")
    if fmt == "json":
        render_json(reports, sys.stdout)
    else:
        # Piped tables (mail, logs) are not cut to 80 columns: names must stay whole.
        render_table(reports, Console(width=None if sys.stdout.isatty() else 200))
    reasons = fail_reasons(reports, fail_on)
    for reason in reasons:
        click.echo(f"--fail-on {reason}", err=True)
    if reasons:
        sys.exit(EXIT_FINDINGS)


def run_checks(
    state: _State,
    site_ids: tuple[str, ...],
    stack: str | None,
    concurrency: int | None,
    *,
    progress: bool,
) -> list[SiteReport]:
    """Validate the configuration against the plugins, then check the selected sites (a
    progress bar on a terminal when `progress`). Shared by `tma check` and `tma run`."""
    from rich.console import Console

    from tma_agent.plugin_settings import registered_settings
    from tma_agent.plugins import registered_sources, registered_stacks
    from tma_agent.runner import CheckRun
    from tma_agent.sources import Fetcher

    config, pm = state.config, state.pm
    config.check_stacks(registered_stacks(pm))
    config.check_sources(registered_sources(pm))
    config.check_settings(registered_settings(pm))
    sites = _select_sites(config, site_ids, stack, pm)
    console = Console(stderr=True)
    cache_dir = config.ensure_state_dir() / "http-cache"
    with Fetcher.from_config(config, cache_dir) as fetcher:
        run = CheckRun(config, pm, fetcher=fetcher)
        if progress and console.is_terminal:
            return _run_with_progress(run, sites, stack, concurrency, console)
        return run.run(sites, only_stack=stack, concurrency=concurrency)


def _run_with_progress(
    run: CheckRun, sites: list[Site], stack: str | None, concurrency: int | None, console: Console
) -> list[SiteReport]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=len(sites))

        def done(site: Site, _: Any) -> None:
            progress.update(task, advance=1, description=site.id)

        return run.run(sites, only_stack=stack, concurrency=concurrency, on_done=done)


def _no_such_site(unknown: list[str], known: list[str]) -> str:
    """`no site 'acme-ww' in the configuration (did you mean 'acme-www'?)`."""
    import difflib

    close = {c: None for name in unknown for c in difflib.get_close_matches(name, known, n=1)}
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    return f"no site {', '.join(map(repr, unknown))} in the configuration{hint}"


def _select_sites(
    config: Config, site_ids: tuple[str, ...], stack: str | None, pm: pluggy.PluginManager
) -> list[Site]:
    from tma_agent.plugins import registered_stacks

    known = {s.id: s for s in config.sites}
    unknown = [i for i in site_ids if i not in known]
    if unknown:
        raise click.BadParameter(_no_such_site(unknown, list(known)), param_hint="--site")
    if stack is not None and stack not in registered_stacks(pm):
        names = ", ".join(sorted(registered_stacks(pm))) or "none"
        raise click.BadParameter(f"unknown stack {stack!r} (known: {names})", param_hint="--stack")
    return [known[i] for i in dict.fromkeys(site_ids)] if site_ids else list(config.sites)


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("validate")
@click.pass_obj
def config_validate(state: _State) -> None:
    """Validate the configuration file, the stacks it names and the plugins' settings."""
    from tma_agent.config import find_config_path
    from tma_agent.plugin_settings import registered_settings
    from tma_agent.plugins import registered_sources, registered_stacks

    cfg = state.config
    cfg.check_stacks(registered_stacks(state.pm))
    cfg.check_sources(registered_sources(state.pm))
    cfg.check_settings(registered_settings(state.pm))
    from tma_agent.tickets.registry import registered_ticket_backends, ticket_config_problems

    problems = ticket_config_problems(cfg, registered_ticket_backends(state.pm))
    if problems:
        raise ConfigError("\n".join(problems))
    path = find_config_path(state.config_path)
    click.echo(f"{path}: valid ({len(cfg.clients)} clients, {len(cfg.sites)} sites)")


@cli.group()
def db() -> None:
    """The ledger database (README: Ledger)."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(state: _State) -> None:
    """Migrate the ledger to the newest schema (keeps every row; also done by the commands
    that use the ledger)."""
    from tma_agent.ledger import open_ledger, upgrade_ledger

    with open_ledger(state.config, upgrade=False) as ledger:
        before, after = upgrade_ledger(ledger.engine)
    if before == after:
        click.echo(f"ledger already at {after}")
    else:
        click.echo(f"ledger upgraded from {before or 'an empty database'} to {after}")


@db.command("status")
@click.pass_obj
def db_status(state: _State) -> None:
    """Show the ledger's schema revision, the newest one and whether an upgrade is needed."""
    from tma_agent.ledger import ledger_status, open_ledger

    with open_ledger(state.config, upgrade=False) as ledger:
        status = ledger_status(ledger.engine)
    click.echo(f"database: {status.url}")
    unknown = "" if status.known else " (newer than this tma-agent: upgrade tma-agent)"
    click.echo(f"current:  {status.current or 'none (empty database)'}{unknown}")
    click.echo(f"head:     {status.head}")
    click.echo(f"upgrade needed: {'yes (tma db upgrade)' if status.needs_upgrade else 'no'}")


@cli.group()
def plugins() -> None:
    """Inspect the loaded plugins."""


@plugins.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_obj
def plugins_list(state: _State, fmt: str) -> None:
    """Show each plugin, its version, what it provides (stacks, ticket backends) and where it
    came from."""
    import json

    from tma_agent.plugins import get_plugin_manager, list_plugins

    records = list_plugins(state._pm or get_plugin_manager(_blocked_from_config(state)))
    if fmt == "json":
        click.echo(json.dumps({"plugins": [r.to_dict() for r in records]}, indent=2))
        return
    rows = [("plugin", "version", "provides", "distribution", "module")]
    rows += [
        (r.name, r.version, ",".join(r.provides) or "-", r.distribution, r.module) for r in records
    ]
    # Plain aligned columns, never wrapped: module paths stay whole and greppable when piped.
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo(
            "  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]])
        )


def _blocked_from_config(state: _State) -> list[str]:
    try:
        return list(state.config.plugins.block)
    except ConfigError:
        return []  # listing plugins must work before a config exists


def main() -> None:
    try:
        cli.main(standalone_mode=False, prog_name="tma")
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except TmaError as exc:
        code = getattr(exc, "exit_code", EXIT_USAGE)
        click.echo(f"error: {exc}", err=True)
        sys.exit(code)
    sys.exit(EXIT_OK)
