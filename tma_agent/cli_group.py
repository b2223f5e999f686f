"""The `tma` command group: built-in command modules and plugin commands imported only when
one of their commands runs, and the global options (`--config`, `--log-format`, `-v`, `-q`)
accepted after any sub-command as well as before it."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from tma_agent.errors import TmaError

__all__ = [
    "GlobalOptions",
    "LazyCommand",
    "TmaGroup",
    "blocked_plugins_in_config",
    "with_global_options",
]

_ARGS = "tma.args"
_ENTRIES = "tma.plugin_entries"
_LOADED = "tma.plugin_commands"


@dataclass
class GlobalOptions:
    """The options every command takes; sub-command values override (`-v` counts add up)."""

    config_path: str | None = None
    log_format: str = "auto"
    verbose: int = 0
    quiet: bool = False

    def setup_logging(self) -> None:
        from tma_agent.log import setup_logging

        setup_logging(self.log_format, verbosity=-1 if self.quiet else self.verbose)  # type: ignore[arg-type]


@dataclass(frozen=True)
class LazyCommand:
    """A built-in command living in its own module: `tma --help` lists it from `short_help`
    (the first sentence of the command's help, kept in step by tests/test_cli_lazy.py) and the
    module is imported only when the command runs or shows its own help. The module either
    has `register_commands(cli)` or adds its commands to `tma_agent.cli.cli` on import."""

    module: str
    short_help: str


class TmaGroup(click.Group):
    """Commands defined with the group are plain; `lazy_commands` are imported on first use;
    plugin commands are listed from a cache (see `tma_agent.plugin_commands`) and imported
    only when one of them runs."""

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = dict(lazy_commands or {})

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Kept for `--config` given after the sub-command: which plugins are blocked, hence
        # which commands exist, is known before the sub-command's options are parsed.
        ctx.meta[_ARGS] = list(args)
        return super().parse_args(ctx, args)

    def builtin_names(self) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def list_commands(self, ctx: click.Context) -> list[str]:
        builtin = self.builtin_names()
        plugin_names = [e.name for e in _plugin_entries(ctx) if e.name not in builtin]
        return [*builtin, *sorted(plugin_names)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self._load_lazy(cmd_name)
        if command is None and any(e.name == cmd_name for e in _plugin_entries(ctx)):
            command = _loaded_plugin_commands(ctx).get(cmd_name)
        return with_global_options(command) if command is not None else None

    def _load_lazy(self, name: str) -> click.Command:
        module_name = self.lazy_commands[name].module
        module = importlib.import_module(module_name)
        register = getattr(module, "register_commands", None)
        if register is not None and name not in self.commands:
            register(self)
        if name not in self.commands:
            # A wrong table entry is a bug of ours, caught by tests/test_cli_lazy.py.
            raise RuntimeError(f"{module_name} does not define the `tma {name}` command")
        return self.commands[name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        builtin = [
            (name, self.commands.get(name) or click.Command(name, help=lazy.short_help))
            for name, lazy in sorted(self.lazy_commands.items())
        ]
        builtin += [
            (n, c) for n, c in self.commands.items() if n not in self.lazy_commands and not c.hidden
        ]
        builtin.sort(key=lambda row: row[0])
        names_taken = self.builtin_names()
        plugin = [(e.name, e.short_help) for e in _plugin_entries(ctx) if e.name not in names_taken]
        names = [n for n, _ in builtin] + [n for n, _ in plugin]
        if not names:
            return
        limit = formatter.width - 6 - max(map(len, names))
        with formatter.section("Commands"):
            formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in builtin])
        if plugin:
            with formatter.section("Plugin commands"):
                formatter.write_dl([(n, _shorten(h, limit)) for n, h in sorted(plugin)])


def with_global_options(command: click.Command) -> click.Command:
    """Add the global options to `command` (and its sub-commands) unless it has them already
    or uses the same flags for something of its own."""
    if getattr(command, "_tma_global_options", False):
        return command
    taken = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    for option in _global_options():
        if not taken.intersection(option.opts):
            command.params.append(option)
    command._tma_global_options = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_global_options(sub)
    return command


def _global_options() -> list[click.Option]:
    return [
        click.Option(
            ["--config", "_tma_config_path"],
            metavar="PATH",
            expose_value=False,
            callback=_override(lambda o, v: setattr(o, "config_path", v)),
            help="As `tma --config`.",
        ),
        click.Option(
            ["--log-format", "_tma_log_format"],
            type=click.Choice(["auto", "console", "json"]),
            expose_value=False,
            callback=_override(lambda o, v: setattr(o, "log_format", v), logging=True),
            help="As `tma --log-format`.",
        ),
        click.Option(
            ["-v", "--verbose", "_tma_verbose"],
            count=True,
            expose_value=False,
            callback=_override(lambda o, v: setattr(o, "verbose", o.verbose + v), logging=True),
            help="As `tma -v`.",
        ),
        click.Option(
            ["-q", "--quiet", "_tma_quiet"],
            is_flag=True,
            expose_value=False,
            callback=_override(lambda o, v: setattr(o, "quiet", o.quiet or v), logging=True),
            help="As `tma -q`.",
        ),
    ]


def _override(
    apply: Callable[[GlobalOptions, Any], None], *, logging: bool = False
) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        options = ctx.find_object(GlobalOptions)
        given = param.name and ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE
        if options is None or not given:
            return
        apply(options, value)
        if logging:
            options.setup_logging()

    return callback


def blocked_plugins_in_config(config_path: str | None) -> list[str]:
    """`plugins.block` read without validating the whole file: listing commands must not cost
    pydantic (0.2 s). A file that cannot be read blocks nothing here; the command that needs
    the configuration reports the error with its line."""
    # The same rule as tma_agent.config.find_config_path (which imports pydantic).
    path = Path(config_path or os.environ.get("TMA_CONFIG") or "tma.yaml")
    if not path.is_file():
        return []
    from tma_agent._yaml import load_yaml_with_lines

    try:
        data, _ = load_yaml_with_lines(path)
    except (TmaError, OSError, ValueError, RecursionError):
        return []
    plugins = data.get("plugins") if isinstance(data, dict) else None
    block = plugins.get("block") if isinstance(plugins, dict) else None
    return [name for name in block if isinstance(name, str)] if isinstance(block, list) else []


def _config_path(ctx: click.Context) -> str | None:
    """The last `--config PATH` / `--config=PATH` anywhere on the command line."""
    root = ctx.find_root()
    args = root.meta.get(_ARGS, [])
    found: str | None = root.params.get("config_path")
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--config="):
            found = arg.partition("=")[2]
    return found


def _plugin_entries(ctx: click.Context) -> list[Any]:
    from tma_agent.plugin_commands import cached_plugin_commands

    root = ctx.find_root()
    if _ENTRIES not in root.meta:
        root.meta[_ENTRIES] = cached_plugin_commands(blocked_plugins_in_config(_config_path(ctx)))
    return list(root.meta[_ENTRIES])


def _loaded_plugin_commands(ctx: click.Context) -> dict[str, click.Command]:
    from tma_agent.plugin_commands import load_plugin_commands

    root = ctx.find_root()
    if _LOADED not in root.meta:
        loaded = load_plugin_commands(blocked_plugins_in_config(_config_path(ctx)))
        root.meta[_LOADED] = {name: command for name, (_, command) in loaded.items()}
    commands: dict[str, click.Command] = root.meta[_LOADED]
    return commands


def _shorten(text: str, limit: int) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: max(limit - 1, 1)].rstrip() + "…"
