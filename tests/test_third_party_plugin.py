"""A plugin installed from elsewhere is found through the same entry-point group as the
built-in stacks: here a real distribution (dist-info + module) on PYTHONPATH, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tma_agent.testing.cli import run_tma
from tma_agent.testing.distributions import install_distribution

PLUGIN = textwrap.dedent('''
    from __future__ import annotations

    import click

    from tma_agent.hookspecs import hookimpl
    from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo


    @hookimpl
    def tma_register_stacks(register):
        register(StackInfo("flatfile", "Flat-file CMS"))


    @hookimpl
    def tma_register_sources(register):
        register(SourceInfo("flatfile", "https://flatfile.invalid"))


    @hookimpl
    def tma_register_commands(cli):
        @cli.command("flatfile-hello")
        def hello():
            """Say hello."""
            click.echo("hello from flatfile")


    @hookimpl
    def tma_detect_paths():
        return ["VERSION.flatfile"]


    @hookimpl
    def tma_detect_stack(site, files):
        if site.stack in (None, "flatfile") and files.get("VERSION.flatfile"):
            return Detection("flatfile", site.path, files["VERSION.flatfile"].strip())
        return None


    @hookimpl
    def tma_inventory(site):
        if site.stack != "flatfile":
            return None
        version = site.files[site.path + "/VERSION.flatfile"].strip()
        return [Component("flatfile", "core", version)]


    @hookimpl
    def tma_evaluate(site, components):
        if site.stack != "flatfile":
            return None
        return [Finding(c.name, c.kind, c.installed, "2.0", "2.0", "feature", source=site.source_url("flatfile"))
                for c in components]


    @hookimpl
    def tma_run_finished(run, summary):
        import json, os
        with open(os.environ["TMA_TEST_RUN_EXPORT"], "a") as out:
            out.write(json.dumps({"id": run.id, "dry_run": run.dry_run, "sites": list(run.sites),
                                  "actions": [r.action for r in summary.requests],
                                  "queued": summary.queued}) + "\\n")
        raise RuntimeError("an exporter bug must not fail the run")
''')


def install_fake_distribution(root: Path) -> Path:
    return install_distribution(
        root / "site-packages", "tma_flatfile", PLUGIN, version="1.4.2", entry="flatfile"
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    install_fake_distribution(tmp_path)
    return tmp_path


def run(
    root: Path, *args: str, block: str = "", cache: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(root / "site-packages"), "TMA_CACHE_DIR": str(cache or root / "cache")}
    if block:
        env["TMA_BLOCK_PLUGINS"] = block
    return run_tma(*args, cwd=root, env=env, timeout=120)


def test_third_party_plugin_is_listed_with_its_distribution(root: Path) -> None:
    result = run(root, "plugins", "list")
    assert result.returncode == 0, result.stderr
    line = next(li for li in result.stdout.splitlines() if li.startswith("flatfile "))
    assert line.split()[:4] == ["flatfile", "1.4.2", "flatfile", "tma-flatfile"]
    assert line.endswith("tma_flatfile.py")


def test_third_party_commands_and_stack_work(root: Path) -> None:
    tmp_path = root
    hello = run(root, "flatfile-hello")
    assert (hello.returncode, hello.stdout.strip()) == (0, "hello from flatfile")
    site = tmp_path / "site"
    site.mkdir()
    (site / "VERSION.flatfile").write_text("1.0\n")
    (tmp_path / "tma.yaml").write_text(
        f"state_dir: {tmp_path / 'state'}\nclients: [{{id: c, name: C}}]\n"
        f"sites: [{{id: flat, client: c, stack: flatfile, environments: {{production: {{path: {site}}}}}}}]\n"
    )
    result = run(tmp_path, "check", "--format", "json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["sites"]
    assert (report["stack"], report["status"]) == ("flatfile", "updates")
    assert report["components"][0]["source"] == "https://flatfile.invalid"


def test_tma_run_finished_sees_every_run_and_cannot_break_it(root: Path) -> None:
    site = root / "site"
    site.mkdir()
    (site / "VERSION.flatfile").write_text("1.0\n")
    (root / "tma.yaml").write_text(
        f"state_dir: {root / 'state'}\nclients: [{{id: c, name: C}}]\n"
        f"sites: [{{id: flat, client: c, stack: flatfile, environments: {{production: {{path: {site}}}}}}}]\n"
    )
    export = root / "runs.jsonl"
    env = {
        "PYTHONPATH": str(root / "site-packages"),
        "TMA_CACHE_DIR": str(root / "cache"),
        "TMA_TEST_RUN_EXPORT": str(export),
    }
    for args in (("--dry-run",), (), ()):
        done = run_tma("run", "--format", "json", *args, cwd=root, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "tma_run_finished hook failed" in done.stderr
    dry, first, second = (json.loads(line) for line in export.read_text().splitlines())
    assert dry == {
        "id": None,
        "dry_run": True,
        "sites": ["flat"],
        "actions": ["created"],
        "queued": 0,
    }
    assert first["actions"] == ["created"] and first["id"] == 1 and not first["dry_run"]
    assert second["actions"] == ["unchanged"] and second["id"] == 2


def test_plugin_commands_are_listed_in_help_and_cached(root: Path) -> None:
    env_cache = root / "cache"
    first = run(root, "--help", cache=env_cache)
    assert first.returncode == 0, first.stderr
    assert "Plugin commands:" in first.stdout and "flatfile-hello  Say hello." in first.stdout
    assert "flatfile-hello" in (env_cache / "plugin-commands.json").read_text()
    again = run(root, "--help", cache=env_cache)  # from the cache: same listing
    assert again.stdout == first.stdout
    # An edited plugin (an editable install keeps its version) is read again.
    module = root / "site-packages" / "tma_flatfile.py"
    module.write_text(module.read_text().replace("flatfile-hello", "flatfile-bye"))
    later = module.stat().st_mtime + 5
    os.utime(module, (later, later))
    edited = run(root, "--help", cache=env_cache)
    assert "flatfile-bye" in edited.stdout and "flatfile-hello" not in edited.stdout


def test_a_plugin_blocked_in_config_registers_no_commands(root: Path) -> None:
    (root / "tma.yaml").write_text("plugins: {block: [flatfile]}\nclients: []\nsites: []\n")
    hello = run(root, "flatfile-hello")
    assert hello.returncode == 2 and "No such command 'flatfile-hello'" in hello.stderr
    assert "flatfile-hello" not in run(root, "--help").stdout
    # The same file named after the sub-command is read too.
    (root / "tma.yaml").unlink()
    (root / "other.yaml").write_text("plugins: {block: [flatfile]}\n")
    assert run(root, "flatfile-hello", "--config", "other.yaml").returncode == 2
    assert run(root, "flatfile-hello").stdout.strip() == "hello from flatfile"


def test_third_party_plugin_can_be_blocked(root: Path) -> None:
    result = run(root, "plugins", "list", block="flatfile")
    assert result.returncode == 0
    assert "flatfile" not in result.stdout and "drupal" in result.stdout
