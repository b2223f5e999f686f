"""The `tma` command line."""

from __future__ import annotations

import sys
from typing import Any

import click
import pluggy
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from tma_agent import __version__
from tma_agent.config import Config, Site, find_config_path, load_config
from tma_agent.errors import ConfigError, TmaError
from tma_agent.fail_on import FAIL_ON_CHOICES, fail_reasons
from tma_agent.log import setup_logging
from tma_agent.models import SiteReport
from tma_agent.output import render_json, render_table
from tma_agent.plugins import (
    get_plugin_manager,
    list_plugins,
    registered_sources,
    registered_stacks,
)
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "cli", "main"]

EXIT_OK = 0
#: A `--fail-on` condition was met (tma_agent.fail_on).
EXIT_FINDINGS = 1
#: Usage or configuration error (Click uses 2 for usage errors too).
EXIT_USAGE = 2


class _State:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self._pm: pluggy.PluginManager | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(find_config_path(self.config_path))
        return self._config

    @property
    def pm(self) -> pluggy.PluginManager:
        if self._pm is None:
            self._pm = get_plugin_manager(self.config.plugins.block)
        return self._pm


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    """tma-agent: check client sites, open maintenance requests, apply updates, bill the time."""
    setup_logging(log_format, verbosity=-1 if quiet else verbose)  # type: ignore[arg-type]
    ctx.obj = _State(config_path)


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
    config, pm = state.config, state.pm
    config.check_stacks(registered_stacks(pm))
    config.check_sources(registered_sources(pm))
    sites = _select_sites(config, site_ids, stack, pm)
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    console = Console(stderr=True)
    cache_dir = config.ensure_state_dir() / "http-cache"
    with Fetcher(cache_dir=cache_dir) as fetcher:
        run = CheckRun(config, pm, fetcher=fetcher)
        if fmt == "table" and console.is_terminal:
            reports = _run_with_progress(run, sites, stack, concurrency, console)
        else:
            reports = run.run(sites, only_stack=stack, concurrency=concurrency)
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


def _run_with_progress(
    run: CheckRun, sites: list[Site], stack: str | None, concurrency: int | None, console: Console
) -> list[SiteReport]:
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


def _select_sites(
    config: Config, site_ids: tuple[str, ...], stack: str | None, pm: pluggy.PluginManager
) -> list[Site]:
    known = {s.id: s for s in config.sites}
    unknown = [i for i in site_ids if i not in known]
    if unknown:
        raise click.BadParameter(
            f"no site {', '.join(map(repr, unknown))} in the configuration", param_hint="--site"
        )
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
    """Validate the configuration file and the stacks it names."""
    cfg = state.config
    cfg.check_stacks(registered_stacks(state.pm))
    cfg.check_sources(registered_sources(state.pm))
    path = find_config_path(state.config_path)
    click.echo(f"{path}: valid ({len(cfg.clients)} clients, {len(cfg.sites)} sites)")


@cli.group()
def plugins() -> None:
    """Inspect the loaded plugins."""


@plugins.command("list")
@click.pass_obj
def plugins_list(state: _State) -> None:
    """Show each plugin, its version and where it came from."""
    pm = state._pm or get_plugin_manager(_blocked_from_config(state))
    stacks = registered_stacks(pm)
    for record in list_plugins(pm):
        provided = [s for s in stacks if s == record.name]
        extra = f"  stacks: {', '.join(provided)}" if provided else ""
        click.echo(f"{record.name}  {record.version}  {record.origin}{extra}")


def _blocked_from_config(state: _State) -> list[str]:
    try:
        return list(state.config.plugins.block)
    except ConfigError:
        return []  # listing plugins must work before a config exists


def main() -> None:
    # Plugin commands are added before parsing; only env-blocked plugins are known this early.
    get_plugin_manager().hook.tma_register_commands(cli=cli)
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
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_OK)
