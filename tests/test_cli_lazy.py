"""Built-in command modules are imported only when one of their commands runs: `tma --help`
lists them from `tma_agent.cli.LAZY_COMMANDS`, whose short help must stay the real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tma_agent.cli import LAZY_COMMANDS, cli
from tma_agent.cli_group import LazyCommand, TmaGroup
from tma_agent.testing.cli import run_tma

#: `tma --help` in a subprocess, then the same help once every lazy command is loaded.
PROBE = textwrap.dedent(
    """
    import json, sys
    import click
    from tma_agent.cli import LAZY_COMMANDS, cli
    watched = {"tma_agent.cli_report", "tma_agent.cli_time_sync"}
    watched |= {entry.module for entry in LAZY_COMMANDS.values()}
    lazy = cli.main(["--help"], prog_name="tma", standalone_mode=False)
    imported = sorted(m for m in watched if m in sys.modules)
    ctx = click.Context(cli, info_name="tma")
    for name in LAZY_COMMANDS:
        cli.get_command(ctx, name)
    eager = cli.get_help(ctx)
    print(json.dumps({"imported": imported, "eager": eager}), file=sys.stderr)
    """
)


def test_help_lists_every_lazy_command_without_importing_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TMA_CONFIG", "TMA_BLOCK_PLUGINS")}
    env |= {"TMA_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "80"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stderr.splitlines()[-1])
    assert probe["imported"] == [], probe["imported"]
    # What the lazy listing printed is exactly what the loaded commands print.
    assert result.stdout.rstrip("\n") == probe["eager"].rstrip("\n")
    listed = result.stdout.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    names = [line.split()[0] for line in listed.splitlines() if line.startswith("  ")]
    assert set(LAZY_COMMANDS) <= set(names), names
    assert names == sorted(names)


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_table_short_help_is_the_first_sentence_of_the_real_help(name: str) -> None:
    command = cli.get_command(click.Context(cli, info_name="tma"), name)
    assert command is not None
    # A limit no sentence reaches: the whole first sentence, as `tma --help` shortens it.
    assert LAZY_COMMANDS[name].short_help == command.get_short_help_str(10_000)


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["time", "--help"], "reconcile"),  # added by cli_time_sync, imported by cli_billing
        (["report", "--help"], "monthly"),  # added by cli_report
        (["run", "--help"], "--dry-run"),
        (["requests", "list", "--help"], "--queued"),
    ],
)
def test_a_lazy_command_runs_and_shows_its_help(
    argv: list[str], shown: str, tmp_path: Path
) -> None:
    result = run_tma(*argv, cwd=tmp_path, env={"TMA_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    # The global options reach lazy commands too.
    assert "--log-format" in result.stdout


def test_lazy_commands_keep_their_exit_codes(tmp_path: Path) -> None:
    env = {"TMA_CACHE_DIR": str(tmp_path / "cache")}
    # No configuration: a configuration error (2), from inside the lazily imported command.
    result = run_tma("requests", "list", cwd=tmp_path, env=env)
    assert result.returncode == 2 and "configuration error" in result.stderr
    result = run_tma("time", "nosuch", cwd=tmp_path, env=env)
    assert result.returncode == 2 and "No such command 'nosuch'" in result.stderr


def _write_module(path: Path, body: str) -> None:
    path.write_text(textwrap.dedent(body))


def test_a_module_registers_by_function_or_on_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    _write_module(
        tmp_path / "lazy_probe_holder.py",
        """
        from tma_agent.cli_group import LazyCommand, TmaGroup
        GROUP = TmaGroup("probe", lazy_commands={
            "hello": LazyCommand("lazy_probe_register", "Say hello."),
            "bye": LazyCommand("lazy_probe_on_import", "Say bye."),
        })
        """,
    )
    _write_module(
        tmp_path / "lazy_probe_register.py",
        """
        import click
        @click.command("hello")
        def hello() -> None:
            "Say hello. Loudly."
            click.echo("hello")
        def register_commands(cli: click.Group) -> None:
            cli.add_command(hello)
        """,
    )
    _write_module(
        tmp_path / "lazy_probe_on_import.py",
        """
        import click
        from lazy_probe_holder import GROUP
        @GROUP.command("bye")
        def bye() -> None:
            "Say bye."
            click.echo("bye")
        """,
    )
    from lazy_probe_holder import GROUP  # type: ignore[import-not-found]

    runner = CliRunner()
    listing = runner.invoke(GROUP, ["--help"], env={"TMA_CACHE_DIR": str(tmp_path / "c")})
    assert "hello  Say hello." in listing.output and "bye    Say bye." in listing.output
    assert "lazy_probe_register" not in sys.modules
    assert runner.invoke(GROUP, ["hello"]).output == "hello\n"
    assert runner.invoke(GROUP, ["bye"]).output == "bye\n"


def test_a_wrong_table_entry_names_the_module() -> None:
    group = TmaGroup("probe", lazy_commands={"nothing": LazyCommand("json", "Nothing.")})
    with pytest.raises(RuntimeError, match="json does not define the `tma nothing` command"):
        group.get_command(click.Context(group), "nothing")
