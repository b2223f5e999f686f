"""On a terminal `tma check` shows tables (and a progress bar) and readable log lines; the
same command piped prints JSON. A real pseudo-terminal, not a flag."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tma_drupal.testing import build_drupal7, release, release_history_xml, serve_release_histories

from tma_agent.testing.feeds import FeedServer


def write_config(tmp_path: Path, base: str) -> Path:
    site = build_drupal7(tmp_path / "legacy").project_root
    config = tmp_path / "tma.yaml"
    config.write_text(
        json.dumps(
            {
                "state_dir": str(tmp_path / "state"),
                "sources": {"drupal": {"url": base}},
                "clients": [{"id": "c", "name": "C"}],
                "sites": [
                    {
                        "id": "legacy",
                        "client": "c",
                        "environments": {"production": {"path": str(site)}},
                    }
                ],
            }
        )
    )
    return config


def run_on_terminal(*args: str) -> tuple[int, str]:
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "LINES": "50", "TERM": "xterm"}
    env.pop("TMA_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tma_agent", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", errors="replace")


def feeds(server: FeedServer) -> str:
    return serve_release_histories(
        server,
        {
            "drupal": release_history_xml(
                "drupal",
                type="project_core",
                api_version="7.x",
                supported_branches="7.",
                releases=[release("7.99"), release("7.98")],
            ),
            "views": release_history_xml(
                "views",
                api_version="7.x",
                supported_branches="7.x-3.",
                releases=[release("7.x-3.29")],
            ),
            "ctools": release_history_xml(
                "ctools",
                api_version="7.x",
                supported_branches="7.x-1.",
                releases=[release("7.x-1.21")],
            ),
        },
        api="7.x",
    )


def test_terminal_gets_tables_and_readable_logs(tmp_path: Path) -> None:
    with FeedServer() as server:
        config = write_config(tmp_path, feeds(server))
        code, screen = run_on_terminal("--config", str(config), "-v", "check")
    assert code == 0, screen
    assert "┏" in screen and "Sites" in screen and "Components to update" in screen
    assert "legacy" in screen and "7.99" in screen
    assert "checked" in screen and '"event"' not in screen  # console log lines, not JSON


def test_pipe_gets_json(tmp_path: Path) -> None:
    with FeedServer() as server:
        config = write_config(tmp_path, feeds(server))
        result = subprocess.run(
            [sys.executable, "-m", "tma_agent", "--config", str(config), "check"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["sites"]
    core = next(c for c in report["components"] if c["name"] == "drupal")
    assert (report["status"], core["recommended"]) == ("updates", "7.99")
