"""The plugin manager: every plugin, built-in or not, comes through the `tma_agent` entry points."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

from tma_agent import hookspecs
from tma_agent.errors import ConfigError

if TYPE_CHECKING:
    from tma_agent.models import SourceInfo, StackInfo

__all__ = [
    "BLOCK_ENV",
    "PluginRecord",
    "get_plugin_manager",
    "list_plugins",
    "registered_sources",
    "registered_stacks",
]

#: Comma-separated entry-point names of plugins not to load (as `plugins.block` in config).
BLOCK_ENV = "TMA_BLOCK_PLUGINS"


@dataclass(frozen=True)
class PluginRecord:
    """What `tma plugins list` shows for one loaded plugin."""

    name: str
    version: str
    distribution: str
    module: str
    stacks: tuple[str, ...] = ()
    ticket_backends: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        return f"{self.distribution} ({self.module})"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "distribution": self.distribution,
            "module": self.module,
            "stacks": list(self.stacks),
            "ticket_backends": list(self.ticket_backends),
            "steps": list(self.steps),
        }

    @property
    def provides(self) -> tuple[str, ...]:
        """What `tma plugins list` shows: stack names, `tickets:<backend>`, `step:<name>`."""
        return (
            *self.stacks,
            *(f"tickets:{name}" for name in self.ticket_backends),
            *(f"step:{name}" for name in self.steps),
        )


def get_plugin_manager(blocked: Iterable[str] = ()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    env_blocked = [n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()]
    for name in [*blocked, *env_blocked]:
        pm.set_blocked(name)
    pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    return pm


def list_plugins(pm: pluggy.PluginManager) -> list[PluginRecord]:
    stacks = _registered_by_plugin(pm.hook.tma_register_stacks)
    backends = _registered_by_plugin(pm.hook.tma_register_ticket_backends)
    steps = _registered_by_plugin(pm.hook.tma_register_steps)
    records = []
    for plugin, dist in pm.list_plugin_distinfo():
        name = pm.get_name(plugin) or "?"
        module_file = getattr(plugin, "__file__", None) or _defined_in(plugin)
        records.append(
            PluginRecord(
                name,
                dist.version,
                dist.metadata["Name"],
                module_file,
                tuple(stacks.get(name, ())),
                tuple(backends.get(name, ())),
                tuple(steps.get(name, ())),
            )
        )
    return sorted(records, key=lambda r: r.name)


def _registered_by_plugin(hook: pluggy.HookCaller) -> dict[str, list[str]]:
    """What each plugin registers through `hook` (stacks, ticket backends): each plugin's own
    registration is called alone, so a name is credited to the plugin that registers it."""
    names: dict[str, list[str]] = {}
    for impl in hook.get_hookimpls():
        names.setdefault(impl.plugin_name, []).extend(_names_of(impl))
    return names


def _names_of(impl: pluggy.HookImpl) -> list[str]:
    found: list[str] = []

    def register(info: StackInfo) -> None:
        found.append(info.name)

    impl.function(*[{"register": register}[name] for name in impl.argnames])
    return found


def _defined_in(plugin: object) -> str:
    """The file of a plugin given as an object (a StackPlugin instance) rather than a module."""
    try:
        return inspect.getfile(type(plugin))
    except TypeError:
        return "?"


def registered_stacks(pm: pluggy.PluginManager) -> dict[str, StackInfo]:
    stacks: dict[str, StackInfo] = {}

    def register(info: StackInfo) -> None:
        if info.name in stacks:
            raise ConfigError(f"two plugins register the stack {info.name!r}")
        stacks[info.name] = info

    pm.hook.tma_register_stacks(register=register)
    return stacks


def registered_sources(pm: pluggy.PluginManager) -> dict[str, SourceInfo]:
    sources: dict[str, SourceInfo] = {}

    def register(info: SourceInfo) -> None:
        sources.setdefault(info.name, info)

    pm.hook.tma_register_sources(register=register)
    return sources
