"""`tma systemd install`: run the agent from a systemd timer (README: Running it every night)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tma_agent.errors import ConfigError

if TYPE_CHECKING:
    from tma_agent.cli import _State
    from tma_agent.service.systemd import Mode

__all__ = ["register_commands", "systemd_group"]


@click.group("systemd")
def systemd_group() -> None:
    """The systemd service and timer that run `tma run` on a schedule."""


def _check_calendar(spec: str) -> None:
    """Refuse an OnCalendar systemd would reject, with systemd's own reason."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    done = subprocess.run(  # noqa: S603 - a fixed program, the spec as one argument
        [analyze, "calendar", spec], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["invalid"])[-1]
        raise ConfigError(f"schedule.on_calendar {spec!r}: {reason}")


@systemd_group.command("install")
@click.option("--user", "mode", flag_value="user", help="User units (~/.config/systemd/user).")
@click.option("--system", "mode", flag_value="system", default=True, help="System units (default).")
@click.option("--on-calendar", metavar="SPEC", help="Overrides schedule.on_calendar.")
@click.option("--randomized-delay", metavar="SPAN", help="Overrides schedule.randomized_delay.")
@click.option("--run-as", default="tma-agent", show_default=True, help="User of system units.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="Write under DIR.")
@click.option("--print", "print_only", is_flag=True, help="Print the units, write nothing.")
@click.option(
    "--web", is_flag=True, help="Also tma-agent-web.service: `tma serve`, always running."
)
@click.pass_obj
def systemd_install(
    state: _State,
    mode: str,
    on_calendar: str | None,
    randomized_delay: str | None,
    run_as: str,
    root: Path | None,
    print_only: bool,
    web: bool,
) -> None:
    """Write tma-agent.service and tma-agent.timer (with --web, tma-agent-web.service too),
    and say how to enable them."""
    from tma_agent.config import find_config_path
    from tma_agent.service.environment_file import (
        SYSTEM_ENVIRONMENT_FILE,
        USER_ENVIRONMENT_FILE,
        environment_file_of,
        read_environment_file,
    )
    from tma_agent.service.settings import ScheduleSettings
    from tma_agent.service.systemd import (
        SERVICE,
        TIMER,
        WEB_SERVICE,
        build_units,
        systemd_running,
        unit_dir,
        write_units,
    )

    chosen: Mode = "user" if mode == "user" else "system"
    if root is None:
        # The secrets the config names, as the units will have them (under sudo, the shell
        # has none); what the shell sets wins.
        template = SYSTEM_ENVIRONMENT_FILE if chosen == "system" else USER_ENVIRONMENT_FILE
        for name, value in read_environment_file(environment_file_of(template)).items():
            os.environ.setdefault(name, value)
    config = state.config
    given = {"on_calendar": on_calendar, "randomized_delay": randomized_delay}
    if any(given.values()):
        merged = {**config.schedule.model_dump(), **{k: v for k, v in given.items() if v}}
        try:
            config = config.model_copy(update={"schedule": ScheduleSettings(**merged)})
        except ValueError as exc:
            raise ConfigError(f"--on-calendar/--randomized-delay: {exc}") from None
    _check_calendar(config.schedule.on_calendar)
    units = build_units(config, find_config_path(state.config_path), chosen, run_as=run_as, web=web)
    if print_only:
        click.echo("".join(f"# {name}\n{text}" for name, text in units.files()), nl=False)
        return
    directory = unit_dir(units.mode, root)
    try:
        written = write_units(units, directory)
    except OSError as exc:
        raise ConfigError(f"cannot write the units in {directory}: {exc.strerror}") from None
    for path in written:
        click.echo(f"wrote {path}")
    ctl = "systemctl --user" if units.mode == "user" else "systemctl"
    if units.mode == "system" and run_as != "root":
        click.echo(
            f"the service runs as {run_as!r}: create it if needed with "
            f"`useradd --system --home-dir {config.state_path} {run_as}`, "
            f"and give it {config.state_path}"
        )
    how = f"{ctl} daemon-reload && {ctl} enable --now {TIMER}" + (f" {WEB_SERVICE}" if web else "")
    if root is not None or not systemd_running():
        click.echo(f"systemd is not running here: on the target machine, run `{how}`")
    else:
        click.echo(f"enable it with: {how}")
        journal = f"journalctl {'--user ' if units.mode == 'user' else ''}"
        click.echo(f"logs: {journal}-u {SERVICE} -o cat")
        if web:
            click.echo(f"dashboard logs: {journal}-u {WEB_SERVICE} -o cat")


@click.command("status")
@click.option("--runs", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option(
    "--stale-days",
    type=click.IntRange(1, 3650),
    default=3,
    show_default=True,
    help="A site without a successful check for this long is listed.",
)
@click.option(
    "--outbox-hours",
    type=click.IntRange(1, 10000),
    default=24,
    show_default=True,
    help="A ticket write waiting for this long is listed.",
)
@click.option("--check", is_flag=True, help="Exit 1 when a problem is listed (for monitoring).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]))
@click.pass_obj
def status_command(
    state: _State, runs: int, stale_days: int, outbox_hours: int, check: bool, fmt: str | None
) -> None:
    """The last runs, sites not checked successfully for days, ticket writes left waiting."""
    import json

    from tma_agent.ledger.models import utcnow
    from tma_agent.service.status import gather_status

    status = gather_status(
        state.config, utcnow(), runs=runs, stale_days=stale_days, outbox_hours=outbox_hours
    )
    if (fmt or ("table" if sys.stdout.isatty() else "json")) == "json":
        click.echo(json.dumps(status, indent=2))
    else:
        _status_table(status)
    if check and status["problems"]:
        sys.exit(1)


def _status_table(status: dict[str, Any]) -> None:
    if status["ledger"]:
        click.echo(f"ledger: {status['ledger']}")
    click.echo("runs:")
    for run in status["runs"]:
        sites = ", ".join(f"{n} {k}" for k, n in sorted(run["sites"].items())) or "no sites"
        made = ", ".join(f"{n} {k}" for k, n in sorted(run["requests"].items())) or "no requests"
        took = f"{run['duration_seconds']} s" if run["duration_seconds"] is not None else "-"
        click.echo(
            f"  #{run['id']} {run['started_at']} {run['state']:<11} {took:>7}  {sites}; {made}"
        )
    stale = [s for s in status["sites"] if s["stale"]]
    click.echo(f"sites: {len(status['sites'])}, not checked successfully lately: {len(stale)}")
    for site in stale:
        last = site["last_success_at"] or "never"
        click.echo(
            f"  {site['site']}: last success {last}, last status {site['last_status'] or '-'}"
        )
    outbox = status["outbox"]
    click.echo(f"outbox: {outbox['queued']} queued, {outbox['parked']} parked")
    for kind, states in outbox["by_kind"].items():
        click.echo(f"  {kind}: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    for item in outbox["stale"]:
        click.echo(
            f"  #{item['id']} {item['operation']} {item['request'] or ''} ({item['state']}, since {item['created_at']})"
        )
    click.echo(f"heartbeat: {_heartbeat_line(status['heartbeat'])}")
    for problem in status["problems"]:
        click.echo(f"problem: {problem}")


def _heartbeat_line(beat: dict[str, Any]) -> str:
    if not beat["configured"]:
        shown = "not configured (heartbeat.url)"
    elif beat["last"] is None:
        shown = "none sent yet"
    else:
        last = beat["last"]
        outcome = "taken" if last["ok"] else f"not taken: {last['error']}"
        shown = f"last {last['ping']} at {last['at']}, {outcome}"
    after = beat["next_run"]
    return shown + (f"; next run {after['at']} ({after['source']})" if after else "")


def register_commands(cli: click.Group) -> None:
    cli.add_command(systemd_group)
    cli.add_command(status_command)
