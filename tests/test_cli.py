from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from tma_agent.testing.cli import run_tma
from tma_agent.testing.web import free_port, logged_in

ROOT = Path(__file__).parent.parent


def tma(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_tma(*args, cwd=cwd, env=env, timeout=120)


BUILTIN_STACKS = ["composer", "drupal", "magento", "npm", "prestashop", "wordpress"]
#: Entry-point name -> the ticket backends it provides.
BUILTIN_TICKET_PLUGINS = {
    "github-tickets": ["github"],
    "gitlab-tickets": ["gitlab"],
    "jira-tickets": ["jira"],
    "ledger-tickets": ["ledger"],
    "redmine-tickets": ["redmine"],
    "webhook-tickets": ["webhook"],
}
#: The core's step families, registered as plugins like any other (docs/apply.md).
BUILTIN_STEP_PLUGINS = {
    "shell-steps": ["shell"],
    "check-steps": ["http.check", "visual.check", "maintenance"],
    "git-steps": ["git.fetch", "git.branch", "git.commit", "git.push", "git.reset", "git.deploy"],
    "backup-steps": ["db.backup", "db.restore", "files.backup", "files.restore"],
}
#: Plugins on `tma_run_finished` only (they provide no stack, backend or step).
BUILTIN_OBSERVERS = ["notify"]
BUILTIN_PLUGINS = sorted(
    [*BUILTIN_STACKS, *BUILTIN_TICKET_PLUGINS, *BUILTIN_STEP_PLUGINS, *BUILTIN_OBSERVERS]
)


def test_plugins_list_shows_builtins_from_entry_points(tmp_path: Path) -> None:
    result = tma("plugins", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["plugin", "version", "provides", "distribution", "module"]
    rows = {line.split()[0]: line.split() for line in lines}
    assert sorted(rows) == BUILTIN_PLUGINS
    for name, backends in BUILTIN_TICKET_PLUGINS.items():
        assert rows[name][2] == ",".join(f"tickets:{b}" for b in backends)
    for name, steps in BUILTIN_STEP_PLUGINS.items():
        assert rows[name][2] == ",".join(f"step:{s}" for s in steps)
    assert rows["drupal"][1] == "0.1.0" and rows["drupal"][3] == "tma-agent"
    # The stack first, then the steps its playbooks use (drupal.find_drush...).
    assert rows["drupal"][2].split(",")[:2] == ["drupal", "step:drupal.find_drush"]
    assert "tma_drupal" in rows["drupal"][4]
    # Aligned: every column starts at the same offset on every line.
    for column in ("version", "provides", "distribution", "module"):
        offset = header.index(column)
        assert all(line[offset - 2 : offset] == "  " and line[offset] != " " for line in lines)


def test_plugins_list_as_json(tmp_path: Path) -> None:
    result = tma("plugins", "list", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert sorted(plugins) == BUILTIN_PLUGINS
    assert plugins["magento"]["stacks"] == ["magento"]
    assert plugins["magento"]["ticket_backends"] == []
    for name, backends in BUILTIN_TICKET_PLUGINS.items():
        assert plugins[name]["ticket_backends"] == backends and plugins[name]["stacks"] == []
    assert plugins["npm"]["distribution"] == "tma-agent"
    assert plugins["npm"]["module"].endswith("hooks.py")


def test_a_plugin_can_be_blocked_by_env(tmp_path: Path) -> None:
    result = tma("plugins", "list", cwd=tmp_path, env={"TMA_BLOCK_PLUGINS": "wordpress"})
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert "drupal" in names and "wordpress" not in names


def test_a_plugin_can_be_blocked_by_config(tmp_path: Path) -> None:
    (tmp_path / "tma.yaml").write_text("plugins: {block: [drupal]}\n")
    result = tma("plugins", "list", cwd=tmp_path)
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert "wordpress" in names and "drupal" not in names


def test_config_validate_ok_and_via_env(tmp_path: Path) -> None:
    result = tma(
        "config", "validate", cwd=tmp_path, env={"TMA_CONFIG": str(ROOT / "config.example.yaml")}
    )
    assert result.returncode == 0, result.stderr
    assert "valid (1 clients, 1 sites)" in result.stdout


def test_config_error_exits_2_with_line_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "tma.yaml").write_text("clients:\n  - {id: acme, name: A, colour: red}\n")
    result = tma("config", "validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "tma.yaml:2: clients[0].colour: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_stack_in_config_is_reported(tmp_path: Path) -> None:
    (tmp_path / "tma.yaml").write_text(
        "clients: [{id: a, name: A}]\n"
        "sites: [{id: s, client: a, stack: joomla, environments: {production: {path: /srv/s}}}]\n"
    )
    result = tma("config", "validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "tma.yaml:2: sites[0].stack: unknown stack 'joomla'" in result.stderr


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = tma("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "tma.yaml: cannot read configuration" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "tma.yaml").write_text("clients: []\nsites: []\n")
    assert tma("check", "--format", "xml", cwd=tmp_path).returncode == 2
    result = tma("check", "--site", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no site 'nope'" in result.stderr
    result = tma("check", "--stack", "joomla", cwd=tmp_path)
    assert result.returncode == 2 and "unknown stack 'joomla'" in result.stderr


def test_empty_fleet_prints_empty_json(tmp_path: Path) -> None:
    (tmp_path / "tma.yaml").write_text(f"state_dir: {tmp_path / 'state'}\nclients: []\nsites: []\n")
    result = tma("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"sites": []}


def test_unusable_state_dir_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    (tmp_path / "tma.yaml").write_text(f"state_dir: {blocker / 'state'}\nclients: []\nsites: []\n")
    result = tma("check", cwd=tmp_path)
    assert result.returncode == 2
    assert f"tma.yaml:1: state_dir: cannot use {blocker / 'state'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_misspelt_source_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "tma.yaml").write_text(
        "clients: []\nsites: []\nsources:\n  drupal: {url: http://127.0.0.1:9/rh}\n"
        "  wordpres: {url: http://127.0.0.1:9}\n"
    )
    result = tma("config", "validate", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "tma.yaml:5: sources.wordpres: no plugin reads a source named 'wordpres'" in result.stderr
    )


def test_unknown_site_suggests_the_closest_id(tmp_path: Path) -> None:
    (tmp_path / "tma.yaml").write_text(
        "clients: [{id: a, name: A}]\nsites:\n"
        + "".join(
            f"  - {{id: {i}, client: a, environments: {{production: {{path: /srv/{i}}}}}}}\n"
            for i in ("acme-www", "acme-api", "blog")
        )
    )
    result = tma("check", "--site", "acme-ww", cwd=tmp_path)
    assert result.returncode == 2
    assert "no site 'acme-ww' in the configuration (did you mean 'acme-www'?)" in result.stderr
    result = tma("check", "--site", "zzz", cwd=tmp_path)
    assert "no site 'zzz' in the configuration\n" in result.stderr


def test_global_options_after_the_sub_command(tmp_path: Path) -> None:
    elsewhere = tmp_path / "conf"
    elsewhere.mkdir()
    config = elsewhere / "fleet.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nclients: [{{id: a, name: A}}]\n"
        f"sites: [{{id: s, client: a, environments: {{production: {{path: {tmp_path / 'none'}}}}}}}]\n"
    )
    result = tma("config", "validate", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{config}: valid (1 clients, 1 sites)"
    # -v and --log-format after `check` reach the log: the per-site info line as JSON.
    result = tma("check", f"--config={config}", "--log-format", "json", "-v", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sites"][0]["site"] == "s"
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(e["event"] == "checked" and e["level"] == "info" for e in events), result.stderr
    # -q after the sub-command wins over the default verbosity: no info line.
    result = tma("check", "--config", str(config), "--log-format", "json", "-q", cwd=tmp_path)
    assert result.returncode == 0 and "checked" not in result.stderr
    # Before and after at once: the sub-command's value wins, -v counts add up.
    result = tma("--config", "/nonexistent.yaml", "config", "validate", "--config", str(config))
    assert result.returncode == 0, result.stderr


def test_version_and_help_import_no_heavy_module(tmp_path: Path) -> None:
    """What `tma --version` and `tma --help` import: an import-set test, not a timing test."""
    probe = textwrap.dedent(
        """
        import sys
        sys.argv = ["tma", sys.argv[1]]
        from tma_agent.cli import main
        try:
            main()
        except SystemExit:
            pass
        heavy = ("httpx", "paramiko", "pydantic", "rich", "structlog", "yaml", "tenacity",
                 "defusedxml", "sqlalchemy", "alembic", "psycopg", "tma_agent.ledger",
                 "tma_agent.config", "tma_agent.runner", "tma_drupal",
                 "tma_wordpress", "tma_magento", "tma_npm", "tma_composer", "tma_prestashop")
        print("IMPORTED", sorted(m for m in heavy if m in sys.modules), file=sys.stderr)
        """
    )
    env = {"TMA_CACHE_DIR": str(tmp_path / "cache")}
    assert tma("--help", cwd=tmp_path, env=env).returncode == 0  # fills the command cache
    for option in ("--version", "--help"):
        result = run_python(probe, option, cwd=tmp_path, env=env)
        assert "IMPORTED []" in result.stderr, (option, result.stderr)
        assert ("tma, version" if option == "--version" else "Commands:") in result.stdout
    # A stale cache (another set of plugins) is rebuilt by importing the plugins, once.
    (tmp_path / "cache" / "plugin-commands.json").write_text('{"fingerprint": {}, "commands": []}')
    result = run_python(probe, "--help", cwd=tmp_path, env=env)
    assert "tma_drupal" in result.stderr and result.stdout.startswith("Usage: tma")
    result = run_python(probe, "--help", cwd=tmp_path, env=env)
    assert "IMPORTED []" in result.stderr


def run_python(
    code: str, *args: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("TMA_CONFIG", "TMA_BLOCK_PLUGINS")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**full_env, **env},
        timeout=120,
    )


def test_pyproject_license_is_spdx_and_builds_without_deprecation(tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "GPL-2.0-or-later"
    # The metadata built by setuptools itself (offline: the venv's setuptools, as pinned).
    tree = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*")
    for name in ("tma_agent", "plugins"):
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    code = (
        "import sys, setuptools.build_meta as b;"
        "print(b.prepare_metadata_for_build_wheel(sys.argv[1]))"
    )
    (tmp_path / "meta").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "meta")],
        capture_output=True,
        text=True,
        cwd=tree,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not re.search(r"deprecat", result.stderr, re.IGNORECASE), result.stderr
    dist_info = tmp_path / "meta" / result.stdout.strip().splitlines()[-1]
    assert "License-Expression: GPL-2.0-or-later" in (dist_info / "METADATA").read_text()


def test_hooks_doc_lists_every_builtin_stack() -> None:
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert sorted(entry_points["tma_agent"]) == BUILTIN_PLUGINS
    stacks = [name for name in sorted(entry_points["tma_agent"]) if name in BUILTIN_STACKS]
    doc = (ROOT / "docs" / "hooks.md").read_text()
    intro = doc[: doc.index("## Registration")]
    for name in stacks:
        assert f"`plugins/tma_{name}`" in intro, name


def test_demo_run_opens_each_request_once_on_the_ledger_backend() -> None:
    shutil.rmtree(ROOT / ".demo" / "state", ignore_errors=True)
    runs = []
    for _ in range(2):
        demo = subprocess.run(
            [str(ROOT / "scripts" / "demo"), "run", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert demo.returncode == 0, demo.stderr
        runs.append({r["fingerprint"]: r["action"] for r in json.loads(demo.stdout)["requests"]})
    first, second = runs
    assert len(first) >= 5 and set(first.values()) == {"created"}
    assert second == dict.fromkeys(first, "unchanged")
    assert "tma:acme-www:site" in first


def test_demo_end_to_end_piped_and_its_rerun_hint_works() -> None:
    """scripts/demo is offline: piped, it prints JSON as `tma check` does; what it tells the
    user to run next works (its feed servers are gone once it exits)."""
    demo = subprocess.run(
        [str(ROOT / "scripts" / "demo")], capture_output=True, text=True, timeout=300
    )
    assert demo.returncode == 0, demo.stderr
    sites = {r["site"]: r for r in json.loads(demo.stdout)["sites"]}
    assert len(sites) == 8 and sites["acme-shop"]["status"] == "unreachable"
    assert {r["stack"] for r in sites.values()} >= {"drupal", "wordpress", "magento", "npm"}
    assert "$ tma" not in demo.stderr  # no bare command that would fail after the demo
    (hint,) = re.findall(r"e\.g\. (scripts/demo [^\n]*)", demo.stderr)
    rerun = subprocess.run(
        [str(ROOT / hint.split()[0]), *hint.split()[1:]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert [r["site"] for r in json.loads(rerun.stdout)["sites"]] == ["acme-www"]
    # Arguments go to `tma check`, options after it included.
    table = subprocess.run(
        [str(ROOT / "scripts" / "demo"), "--site", "blog", "--format", "table", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert table.returncode == 0, table.stderr
    assert "Sites" in table.stdout and "contact-form-7" in table.stdout
    assert "acme-www" not in table.stdout


def test_demo_serve_starts_the_dashboard_on_the_demo_ledger() -> None:
    """`scripts/demo serve` (README): `tma run` fills the demo ledger, the dashboard serves it
    with the accounts it prints, Ctrl-C stops all of it."""
    port = free_port()
    demo = subprocess.Popen(
        [str(ROOT / "scripts" / "demo"), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # Ctrl-C reaches the whole group, as in a terminal
    )
    try:
        accounts: dict[str, str] = {}
        assert demo.stderr is not None
        for line in demo.stderr:
            if found := re.match(r"demo: log in as (\S+) / (\S+) ", line):
                accounts[found[1]] = found[2]
            if len(accounts) == 2:
                break
        assert set(accounts) == {"agency", "acme-cto"}, accounts
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the demo dashboard never answered"
                time.sleep(0.2)
        with logged_in(url, "agency", accounts["agency"]) as staff:
            every = {s["site"]: s for s in staff.get("/api/fleet").json()["sites"]}
        assert len(every) == 8 and "acme-www" in every
        assert every["acme-www"]["open_requests"] >= 1  # the run's requests are in its ledger
        with logged_in(url, "acme-cto", accounts["acme-cto"]) as client:
            own = [s["site"] for s in client.get("/api/fleet").json()["sites"]]
        assert own and set(own) == {n for n, s in every.items() if s["client"] == "acme"}
        assert len(own) < len(every)
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        code = demo.wait(timeout=30)
    assert code == 0
    with pytest.raises(httpx.TransportError):  # the dashboard stopped with the demo
        httpx.get(f"{url}/login", timeout=2)
