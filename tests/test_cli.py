from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def tma(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("TMA_CONFIG", "TMA_BLOCK_PLUGINS")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tma_agent", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
    )


def test_plugins_list_shows_builtins_from_entry_points(tmp_path: Path) -> None:
    result = tma("plugins", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert {"drupal", "wordpress"} <= set(lines)
    assert "tma-agent" in lines["drupal"] and "tma_drupal" in lines["drupal"]
    assert "0.1.0" in lines["wordpress"]


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
