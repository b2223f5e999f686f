"""What a step gets: the site, its environment's host, the variables, and one way to run
commands there (recorded, pid-tracked for recovery, only printed in dry-run)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tma_agent._masking import mask, remember_secret
from tma_agent.apply._types import StepFailed
from tma_agent.errors import HostError
from tma_agent.hosts import CommandResult, Host, quote_command

if TYPE_CHECKING:
    import pluggy

    from tma_agent.apply.settings import ApplySettings
    from tma_agent.config import Config, Environment, Site

__all__ = ["Attachment", "CommandRecord", "Facts", "StepContext", "last_line"]

#: Runs the command in `$2` with its pid in the file `$1`: `exec` keeps the pid, so a later
#: recovery can find the command (and its process group) after the agent was killed.
_TRACKED = 'mkdir -p "${1%/*}" && echo $$ > "$1" && cd "$2" && shift 2 && exec "$@"'
_UNTRACKED = 'cd "$1" && shift && exec "$@"'


@dataclass(frozen=True)
class CommandRecord:
    """A command as shown to people: dry-run output, the journal, the request's note."""

    host: str
    cwd: str
    command: str
    probe: bool = False
    exit_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "cwd": self.cwd,
            "command": self.command,
            "probe": self.probe,
            "exit_code": self.exit_code,
        }


class Facts(dict[str, Any]):
    """What a run must remember to be undone: every key set is saved to the journal at once
    (`on_change`), so an agent killed in the middle of a step still knows, for example, the
    commit it started from or that it turned maintenance mode on."""

    on_change: Callable[[], None] | None = None

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if self.on_change is not None:
            self.on_change()


@dataclass(frozen=True)
class Attachment:
    label: str
    path: Path
    #: What the file shows, JSON-able (`visual.check`: page, image, ratio, threshold), kept
    #: with it in the journal for the dashboard's site page.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepContext:
    site: Site
    env_name: str
    environment: Environment
    host: Host
    config: Config
    pm: pluggy.PluginManager
    apply_settings: ApplySettings
    workdir: Path
    stamp: str
    stack: str | None = None
    dry_run: bool = False
    vars: dict[str, Any] = field(default_factory=dict)
    facts: Facts = field(default_factory=Facts)
    commands: list[CommandRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    #: Seconds a command of the current step may take (the step's `timeout:`).
    timeout: float | None = None
    _home: str | None = None

    @property
    def path(self) -> str:
        return self.environment.path

    # -- where things go on the host -------------------------------------------------------
    def _host_home(self) -> str:
        if self._home is None:
            result = self.host.run(["sh", "-c", 'printf %s "$HOME"'], check=False)
            self._home = result.text.strip() or "/tmp"  # noqa: S108 - a user without a home
        return self._home

    def host_path(self, configured: str) -> str:
        """A configured host path with `~/` made absolute (argv items are never expanded)."""
        if configured == "~" or configured.startswith("~/"):
            return posixpath.join(self._host_home(), configured[2:])
        return configured

    @property
    def site_backups(self) -> str:
        """`<apply.backup_dir>/<site id>` on the host: every backup of the site, and nothing else."""
        return posixpath.join(self.host_path(self.apply_settings.backup_dir), self.site.id)

    @property
    def backup_dir(self) -> str:
        """This apply's backup directory on the host (`ensure_backup_dir` creates it)."""
        return posixpath.join(self.site_backups, self.stamp)

    @property
    def pid_file(self) -> str:
        return posixpath.join(self.site_backups, f".{self.stamp}.pid")

    def ensure_backup_dir(self) -> str:
        self.run(["mkdir", "-p", "-m", "700", self.backup_dir], cwd="/")
        return self.backup_dir

    # -- commands ------------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        check: bool = True,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> CommandResult:
        """A command that may change something, in `cwd` (default: the site's path). Only
        recorded in dry-run. `check`: a non-zero exit raises StepFailed."""
        return self._command(argv, cwd, timeout, check, stdin, env, secrets, probe=False)

    def probe(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        timeout: float | None = None,
        check: bool = False,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """A read-only command (git status, reading a settings file): runs in dry-run too."""
        return self._command(argv, cwd, timeout, check, stdin, None, (), probe=True)

    def _command(
        self,
        argv: Sequence[str],
        cwd: str | None,
        timeout: float | None,
        check: bool,
        stdin: bytes | None,
        env: Mapping[str, str] | None,
        secrets: Sequence[str],
        *,
        probe: bool,
    ) -> CommandResult:
        for secret in secrets:
            remember_secret(secret)
        where = cwd or self.path
        full = [*(["env", *(f"{k}={v}" for k, v in env.items())] if env else []), *argv]
        shown = mask(quote_command(full))
        if self.dry_run and not probe:
            self.commands.append(CommandRecord(self.host.name, where, shown))
            return CommandResult(shown, 0, b"", b"")
        if probe:
            wrapped = ["sh", "-c", _UNTRACKED, "sh", where, *full]
        else:
            wrapped = ["sh", "-c", _TRACKED, "sh", self.pid_file, where, *full]
        try:
            result = self.host.run(
                wrapped, timeout=timeout or self.timeout, check=False, stdin=stdin
            )
        except HostError as exc:
            self.commands.append(CommandRecord(self.host.name, where, shown, probe, None))
            raise StepFailed(mask(str(exc))) from None
        self.commands.append(CommandRecord(self.host.name, where, shown, probe, result.exit_code))
        if check and not result.ok:
            raise StepFailed(f"`{_brief(shown)}` failed on {self.host.name}: {last_line(result)}")
        return result

    # -- what the apply reports ------------------------------------------------------------------
    def note(self, text: str) -> None:
        self.notes.append(mask(" ".join(text.split())))

    def attach(self, path: Path, *, label: str, **details: str | float) -> None:
        self.attachments.append(Attachment(label, path, dict(details)))


def _brief(command: str) -> str:
    return command if len(command) <= 80 else command[:80] + "…"


def last_line(result: CommandResult) -> str:
    for stream in (result.stderr, result.stdout):
        lines = stream.decode("utf-8", errors="replace").strip().splitlines()
        if lines:
            return mask(" ".join(lines[-1].split())[:200])
    return f"exit status {result.exit_code}"
