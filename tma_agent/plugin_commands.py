"""Plugin sub-commands without importing every plugin at each start.

Importing the six built-in stacks costs ~0.6 s (httpx, pydantic, their parsers), far more than
`tma --help` may take. The entry-point metadata, which is cheap to read, fingerprints what is
installed; the names and one-line helps of the commands the plugins registered are kept under
that fingerprint in a small cache file, so listing them imports no plugin. Running a plugin
command always loads the real plugins, so a stale or missing cache only costs time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import click

from tma_agent.hookspecs import PROJECT_NAME
from tma_agent.plugins import BLOCK_ENV, get_plugin_manager  # pluggy only: cheap

__all__ = ["CACHE_ENV", "CommandEntry", "cached_plugin_commands", "load_plugin_commands"]

#: Directory of the cache file (default: $XDG_CACHE_HOME/tma-agent, else ~/.cache/tma-agent).
CACHE_ENV = "TMA_CACHE_DIR"
_CACHE_FILE = "plugin-commands.json"


@dataclass(frozen=True)
class CommandEntry:
    name: str
    short_help: str
    plugin: str


def cached_plugin_commands(blocked: list[str]) -> list[CommandEntry]:
    """The plugin commands, from the cache when it matches what is installed, else loaded."""
    fingerprint = _fingerprint(blocked)
    cached = _read_cache(fingerprint)
    if cached is not None:
        return cached
    commands = load_plugin_commands(blocked)
    return [entry for entry, _ in commands.values()]


def load_plugin_commands(blocked: list[str]) -> dict[str, tuple[CommandEntry, click.Command]]:
    """Import the plugins not blocked, collect the commands each registers, refresh the cache."""
    pm = get_plugin_manager(blocked)
    commands: dict[str, tuple[CommandEntry, click.Command]] = {}
    for impl in pm.hook.tma_register_commands.get_hookimpls():
        # One group per plugin, so each command is known with the plugin that added it.
        group = click.Group()
        impl.function(*[{"cli": group}[name] for name in impl.argnames])
        for name, command in group.commands.items():
            entry = CommandEntry(name, command.get_short_help_str(limit=300), impl.plugin_name)
            commands.setdefault(name, (entry, command))
    _write_cache(_fingerprint(blocked), [entry for entry, _ in commands.values()])
    return commands


def _fingerprint(blocked: list[str]) -> dict[str, Any]:
    installed = []
    for ep in entry_points(group=PROJECT_NAME):
        dist = ep.dist
        installed.append(
            [ep.name, ep.value, dist.name if dist else "", dist.version if dist else "",
             _newest_source_mtime(ep.module)]
        )  # fmt: skip
    env_blocked = os.environ.get(BLOCK_ENV, "")
    return {
        "installed": sorted(installed),
        "blocked": sorted({*blocked, *(n.strip() for n in env_blocked.split(",") if n.strip())}),
    }


def _newest_source_mtime(module: str) -> int:
    """Editable installs change code without a new version: the newest .py beside the module
    (finding it does not import it) stands for its code."""
    try:
        spec = find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return 0
    if spec is None or not spec.origin:
        return 0
    folder = Path(spec.origin).parent
    with contextlib.suppress(OSError):
        if spec.submodule_search_locations:
            return max((p.stat().st_mtime_ns for p in folder.glob("*.py")), default=0)
        return Path(spec.origin).stat().st_mtime_ns
    return 0


def _cache_path() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit) / _CACHE_FILE
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tma-agent" / _CACHE_FILE


def _read_cache(fingerprint: dict[str, Any]) -> list[CommandEntry] | None:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
        if data["fingerprint"] != fingerprint:
            return None
        return [CommandEntry(**entry) for entry in data["commands"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no cache, or one from another version: load the plugins instead


def _write_cache(fingerprint: dict[str, Any], commands: list[CommandEntry]) -> None:
    path = _cache_path()
    payload = {"fingerprint": fingerprint, "commands": [asdict(c) for c in commands]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: concurrent runs (a nightly timer and a developer) never read half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    except OSError:
        return  # a read-only home only makes the next `--help` slower
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(payload, stream)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
