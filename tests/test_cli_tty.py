"""On a terminal `tma check` shows tables (and a progress bar) and readable log lines; the
same command piped prints JSON. A real pseudo-terminal, not a flag."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from tma_drupal.testing.feeds import (
    drupal7_histories,
    release,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal7

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


ROOT = Path(__file__).parent.parent


def run_on_terminal(
    *args: str, columns: int = 160, program: list[str] | None = None
) -> tuple[int, str]:
    primary, secondary = pty.openpty()
    # The window size itself, as a terminal emulator sets it, not only $COLUMNS.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    env.pop("TMA_CONFIG", None)
    proc = subprocess.Popen(
        [*(program or [sys.executable, "-m", "tma_agent"]), *args],
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
        server, drupal7_histories(core=[release("7.99"), release("7.98")]), api="7.x"
    )


def test_terminal_gets_tables_and_readable_logs(tmp_path: Path) -> None:
    with FeedServer() as server:
        config = write_config(tmp_path, feeds(server))
        # The global options after the sub-command, as a user types them.
        code, screen = run_on_terminal("check", "--config", str(config), "-v")
    assert code == 0, screen
    assert "─────" in screen and "Sites" in screen and "Components to update" in screen
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


@pytest.mark.parametrize("columns", [80, 120])
def test_tables_fit_the_terminal_and_never_cut_versions_or_update_kinds(columns: int) -> None:
    """The demo fleet (every stack, Magento's long package names, `unsupported`, policy
    reasons) on an 80- and a 120-column terminal: every version and kind the JSON has appears
    whole, and a policy reason takes one line."""
    demo = [sys.executable, str(ROOT / "scripts" / "demo.py")]
    piped = subprocess.run([*demo, "--format", "json"], capture_output=True, text=True, timeout=120)
    reports = json.loads(piped.stdout)["sites"]
    code, screen = run_on_terminal("--format", "table", columns=columns, program=demo)
    assert code == 0, screen
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    lines = [line for line in plain.splitlines() if not line.startswith("demo: ")]
    assert max(len(line.rstrip()) for line in lines) <= columns, plain
    header = next(line for line in lines if "recommended" in line)
    assert ("latest" in header) is (columns >= 100)  # the column that gives way first
    rows = [line.split() for line in lines]
    shown = [(r["site"], c) for r in reports for c in r["components"] if c["update"] != "none"]
    assert len(shown) >= 20  # the demo has findings of every stack
    for _, c in shown:
        # Versions and the kind are whole cells of one row (names may wrap: match the tail).
        versions = [c["installed"], c["recommended"], *([c["latest"]] if columns >= 100 else [])]
        expected = [v for v in versions if v] + [c["update"]]
        assert any(row[-len(expected) :] == expected for row in rows), (c, plain)
    # A policy reason is one line, shortened with an ellipsis when it does not fit.
    held = [(site, c) for site, c in shown if c["policy"]]
    assert held
    for site, c in held:
        (line,) = [
            li for li in lines if li.strip().startswith(f"{site} {c['name']}: {c['policy']}:")
        ]
        full = f"  {site} {c['name']}: {c['policy']}: {c['policy_reason']}"
        assert line.rstrip() == full or (line.endswith("…") and full.startswith(line[:-1])), line


def test_a_long_error_is_one_line_on_the_terminal_and_whole_in_json(tmp_path: Path) -> None:
    missing = tmp_path / ("a-long-directory-name-" * 6) / "site"
    config = tmp_path / "tma.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nclients: [{{id: a, name: A}}]\n"
        f"sites: [{{id: lost, client: a, environments: {{production: {{path: {missing}}}}}}}]\n"
    )
    piped = subprocess.run(
        [sys.executable, "-m", "tma_agent", "--config", str(config), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    (report,) = json.loads(piped.stdout)["sites"]
    assert report["status"] == "error" and report["error"].endswith(f"{missing}: no such directory")
    code, screen = run_on_terminal("check", "--config", str(config), "-q", columns=80)
    assert code == 0, screen
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen).splitlines()
    (line,) = [li for li in lines if li.startswith("  lost: ")]
    assert len(line) == 80 and line.endswith("…")
    assert f"  lost: {report['error']}".startswith(line[:-1])
