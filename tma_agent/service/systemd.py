"""`tma systemd install`: a oneshot service running `tma run`, and its timer.

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

if TYPE_CHECKING:
    from tma_agent.config import Config

__all__ = [
    "SERVICE",
    "TIMER",
    "Mode",
    "Units",
    "build_units",
    "installed_tma",
    "unit_dir",
    "write_units",
]

SERVICE = "tma-agent.service"
TIMER = "tma-agent.timer"
Mode = Literal["system", "user"]


@dataclass(frozen=True)
class Units:
    service: str
    timer: str
    mode: Mode


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


def build_units(
    config: Config, config_path: Path, mode: Mode, *, run_as: str, tma: str | None = None
) -> Units:
    state_dir = str(config.state_path.absolute())
    exec_start = " ".join(
        _quote(a)
        for a in [
            tma or installed_tma(),
            "--config",
            str(config_path.absolute()),
            "--log-format",
            "json",
            "run",
        ]
    )
    lines = [
        "[Unit]",
        "Description=tma-agent: check sites, open maintenance requests, apply updates",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        f"ExecStart={exec_start}",
        # Exit 1 (findings under --fail-on) and 3 (ticket writes left queued) are a run that
        # worked: systemd must not mark the unit failed for them.
        "SuccessExitStatus=1 3",
        "NoNewPrivileges=yes",
    ]
    if mode == "system":
        env_file = "/etc/tma-agent/environment"
        lines += [
            f"User={run_as}",
            f"Group={run_as}",
            f"EnvironmentFile=-{env_file}",
            "ProtectSystem=strict",
            f"ReadWritePaths={_quote(state_dir)}",
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
    else:
        lines += ["EnvironmentFile=-%h/.config/tma-agent/environment", "UMask=0077"]
    lines += ["TimeoutStartSec=6h", ""]
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
    return Units("\n".join(lines), "\n".join(timer), mode)


def unit_dir(mode: Mode, root: Path | None) -> Path:
    if mode == "system":
        return (root or Path("/")) / "etc/systemd/system"
    user_units = Path(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"))
    user_units = user_units / "systemd/user"
    return root / user_units.relative_to("/") if root else user_units


def write_units(units: Units, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((SERVICE, units.service), (TIMER, units.timer)):
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
