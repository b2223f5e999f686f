"""`tma systemd install`: a oneshot service running `tma run`, its timer, and with `--web` a
long-running service for `tma serve` (the dashboard, the client portal, the ticket webhooks).

The units are built from the configuration (schedule, state_dir, key files), so what systemd
runs is exactly what a developer runs in a shell. System units run as a dedicated user behind
systemd's sandboxing; user units run as the user who installs them.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tma_agent.errors import ConfigError
from tma_agent.service.environment_file import SYSTEM_ENVIRONMENT_FILE, USER_ENVIRONMENT_FILE

if TYPE_CHECKING:
    from tma_agent.config import Config

__all__ = [
    "SERVICE",
    "TIMER",
    "WEB_SERVICE",
    "Mode",
    "Units",
    "build_units",
    "installed_tma",
    "unit_dir",
    "write_units",
]

SERVICE = "tma-agent.service"
TIMER = "tma-agent.timer"
WEB_SERVICE = "tma-agent-web.service"
Mode = Literal["system", "user"]


@dataclass(frozen=True)
class Units:
    service: str
    timer: str
    mode: Mode
    #: `tma-agent-web.service`, when asked for (`--web`).
    web: str | None = None

    def files(self) -> list[tuple[str, str]]:
        """(unit name, text) of each unit, in the order they are written and shown."""
        named = [(SERVICE, self.service), (TIMER, self.timer)]
        return named + ([(WEB_SERVICE, self.web)] if self.web is not None else [])


def installed_tma() -> str:
    """The `tma` executable of this installation (the venv's, not whatever PATH finds first)."""
    beside = Path(sys.executable).parent / "tma"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside.absolute())
    found = shutil.which("tma")
    if found is None:
        raise ConfigError("cannot find the installed `tma` executable for ExecStart")
    return str(Path(found).absolute())


def _quote(arg: str) -> str:
    """An ExecStart argument as systemd parses it (its own quoting, `%` and `$` escaped)."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"' if any(c in arg for c in " \t\"'\\;") or not arg else escaped


def _paths_read(config: Config) -> list[str]:
    """Files the run reads that sandboxing must leave readable (keys, known_hosts)."""
    paths = [config.ssh.key_file, config.ssh.known_hosts]
    return [os.path.expanduser(p) for p in paths if p]


def _exec_start(tma: str, config_path: Path, command: str) -> str:
    argv = [tma, "--config", str(config_path.absolute()), "--log-format", "json", command]
    return " ".join(_quote(a) for a in argv)


def _sandbox(config: Config, mode: Mode, run_as: str) -> list[str]:
    """The user, environment and sandboxing both services share."""
    if mode == "user":
        return [f"EnvironmentFile=-{USER_ENVIRONMENT_FILE}", "UMask=0077"]
    return [
        f"User={run_as}",
        f"Group={run_as}",
        f"EnvironmentFile=-{SYSTEM_ENVIRONMENT_FILE}",
        "ProtectSystem=strict",
        f"ReadWritePaths={_quote(str(config.state_path.absolute()))}",
        "PrivateTmp=yes",
        # Keys and known_hosts under /home stay readable; nothing there is written.
        "ProtectHome=read-only",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "UMask=0077",
    ]


def build_units(
    config: Config,
    config_path: Path,
    mode: Mode,
    *,
    run_as: str,
    tma: str | None = None,
    web: bool = False,
) -> Units:
    tma = tma or installed_tma()
    lines = [
        "[Unit]",
        "Description=tma-agent: check sites, open maintenance requests, apply updates",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"ExecStart={_exec_start(tma, config_path, 'run')}",
        # Exit 1 (findings under --fail-on) and 3 (ticket writes left queued) are a run that
        # worked: systemd must not mark the unit failed for them.
        "SuccessExitStatus=1 3",
        "NoNewPrivileges=yes",
        *_sandbox(config, mode, run_as),
        "TimeoutStartSec=6h",
        "",
    ]
    schedule = config.schedule
    timer = [
        "[Unit]",
        "Description=Run tma-agent on a schedule",
        "",
        "[Timer]",
        f"OnCalendar={schedule.on_calendar}",
        "Persistent=true",
        f"RandomizedDelaySec={schedule.randomized_delay}",
        f"Unit={SERVICE}",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    served = _web_service(config, config_path, mode, run_as, tma) if web else None
    return Units("\n".join(lines), "\n".join(timer), mode, served)


def _web_service(config: Config, config_path: Path, mode: Mode, run_as: str, tma: str) -> str:
    if config.web.secret_key is None:
        raise ConfigError("--web: web.secret_key is not set: tma serve cannot sign its sessions")
    lines = [
        "[Unit]",
        "Description=tma-agent dashboard, client portal and ticket webhooks (tma serve)",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        # `exec`: a tma that cannot be executed fails `systemctl start` itself.
        "Type=exec",
        f"ExecStart={_exec_start(tma, config_path, 'serve')}",
        "Restart=on-failure",
        "RestartSec=5s",
        # Exit 2 is a configuration error or an address it cannot listen on: restarting
        # would only repeat it.
        "RestartPreventExitStatus=2",
        "TimeoutStopSec=30s",
        "NoNewPrivileges=yes",
        *_sandbox(config, mode, run_as),
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if mode == 'system' else 'default.target'}",
        "",
    ]
    return "\n".join(lines)


def unit_dir(mode: Mode, root: Path | None) -> Path:
    if mode == "system":
        return (root or Path("/")) / "etc/systemd/system"
    user_units = Path(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"))
    user_units = user_units / "systemd/user"
    return root / user_units.relative_to("/") if root else user_units


def write_units(units: Units, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.files():
        path = directory / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.chmod(0o644)
        tmp.replace(path)
        written.append(path)
    return written


def systemd_running() -> bool:
    """True when systemd is PID 1 (what `sd_booted()` checks)."""
    return Path("/run/systemd/system").is_dir()
