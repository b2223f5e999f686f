"""`tma serve` itself: where it listens, and what it says when it cannot (a port in use, an
address of another host) — one line and exit 2, not a server's log and a misleading code."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from tma_agent.testing.cli import run_tma
from tma_agent.testing.web import served

SECRET = {"TMA_WEB_SECRET": "s" * 40}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMA_WEB_SECRET", SECRET["TMA_WEB_SECRET"])  # for served()
    path = tmp_path / "tma.yaml"
    path.write_text(
        f"database: {{url: 'sqlite:///{tmp_path}/ledger.db'}}\n"
        "sites: []\n"
        "web:\n"
        "  secret_key: {$env: TMA_WEB_SECRET}\n",
        encoding="utf-8",
    )
    return path


def test_a_port_in_use_is_one_line_and_exit_2(config: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        refused = run_tma("serve", "--port", str(port), config=config, env=SECRET, timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr == (
        f"configuration error: tma serve: cannot listen on 127.0.0.1:{port} (web.bind): "
        "address already in use\n"
    )
    assert refused.stdout == ""


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("192.0.2.1", "cannot assign requested address"),  # TEST-NET: no interface of this host
        ("no-such-host.invalid", "name or service not known"),
    ],
)
def test_an_address_this_host_cannot_listen_on(config: Path, host: str, reason: str) -> None:
    refused = run_tma("serve", "--host", host, config=config, env=SECRET, timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines() == [
        f"configuration error: tma serve: cannot listen on {host}:8470 (web.bind): {reason}"
    ]


def test_the_ipv6_loopback(config: Path) -> None:
    with served(config, host="::1") as url:
        # The Host header names it in brackets: answered, not refused as another host's name.
        page = httpx.get(f"{url}/login", timeout=10)
        assert page.status_code == 200 and 'name="csrf"' in page.text
        assert httpx.get(f"{url}/login", headers={"Host": "evil.example"}).status_code == 400
    assert f"tma serve: listening on {url} (0 accounts)" in (
        (config.parent / "serve.log").read_text(encoding="utf-8")
    )


def test_web_bind_says_where_without_options(config: Path) -> None:
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as taken:
        port = taken.getsockname()[1]
        config.write_text(
            config.read_text(encoding="utf-8") + f"  bind: '[::1]:{port}'\n", encoding="utf-8"
        )
        refused = run_tma("serve", config=config, env=SECRET, timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert f"cannot listen on ::1:{port} (web.bind): address already in use" in refused.stderr
