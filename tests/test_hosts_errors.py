"""SSH failures as a user meets them: one line each, naming the real cause, no library noise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tma_agent.errors import HostError
from tma_agent.hosts import Host, SSHHost
from tma_agent.hosts._programs import READ_MANY
from tma_agent.testing.sshd import SSHServer

SITES = 6


@pytest.fixture
def tarpit() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def test_banner_tarpit_names_the_cause_for_every_site(
    tarpit: int, sshd: SSHServer, tmp_path: Path
) -> None:
    sites = "\n".join(
        f"  - {{id: s{i}, client: c, stack: drupal, environments: {{production: "
        f"{{host: 'ssh://deploy@127.0.0.1:{tarpit}', path: /var/www/s{i}}}}}}}"
        for i in range(SITES)
    )
    config = tmp_path / "tma.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nconcurrency: {SITES}\n"
        f"ssh: {{connect_timeout: 1, known_hosts: {sshd.known_hosts_path}, use_agent: false,"
        f" key_file: {sshd.client_key_path}}}\n"
        f"clients: [{{id: c, name: C}}]\nsites:\n{sites}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TMA_CONFIG", "TMA_BLOCK_PLUGINS")}
    cli = [sys.executable, "-m", "tma_agent", "--config", str(config), "--log-format", "json"]
    result = subprocess.run(
        [*cli, "check", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    reports = json.loads(result.stdout)["sites"]
    assert len(reports) == SITES
    for report in reports:
        assert report["status"] == "unreachable"
        assert report["error"] == f"deploy@127.0.0.1:{tarpit}: no SSH banner within 1s"
    # stderr holds JSON log lines only: no raw paramiko traceback or "Exception (client)".
    for line in result.stderr.splitlines():
        assert json.loads(line)["event"], line
    assert "Traceback" not in result.stderr and "Exception (client)" not in result.stderr
    # At debug, paramiko's own lines are there, as structured records like any other.
    debug = subprocess.run(
        [*cli, "-vv", "check", "--format", "json", "--site", "s0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    records = [json.loads(line) for line in debug.stderr.splitlines()]
    assert any(r.get("logger", "").startswith("paramiko") for r in records), debug.stderr[-2000:]


def test_lost_connection_error_is_one_short_line(ssh_host: SSHHost) -> None:
    # The session's sshd ($PPID) dies while a 2 KB command line runs.
    command = "kill -9 $PPID; sleep 5; : " + " ".join(["padding"] * 250)
    with pytest.raises(HostError, match="connection lost while running") as caught:
        ssh_host.run(command)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 160, message
    assert message.endswith("`kill -9 $PPID; sleep 5; : padding padding padding padding pa…`")


def test_failed_program_names_itself_not_its_script(host: Host) -> None:
    with pytest.raises(HostError) as caught:
        host.run(["sh", "-c", "echo bad >&2; exit 3", "sh"])
    assert str(caught.value).endswith("`sh -c 'echo bad >&2; exit 3' sh` failed: bad")
    long = "echo " + "x" * 500 + "; exit 1"
    with pytest.raises(HostError) as caught:
        host.run(long)
    assert len(str(caught.value)) < 140 and "…" in str(caught.value)
    with pytest.raises(HostError) as caught:
        host.run(["sh", "-c", READ_MANY, "sh"])  # no arguments: its first `shift 4` fails
    assert "`read_many (0 arguments)` failed: " in str(caught.value)
    assert len(str(caught.value)) < 140
