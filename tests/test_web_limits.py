"""Log-in limits kept in the ledger: two real `tma serve` (uvicorn) on one ledger, SQLite and
PostgreSQL, count the same failures per account and per client address (the test's clients
connect from other loopback addresses, 127.0.0.2 and up); a restart forgets none; the
window slides; a successful log-in is not slowed and writes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tma_agent.ledger.models import LoginFailure, Throttle
from tma_agent.testing.postgres import PostgresCluster
from tma_agent.testing.web import csrf_of, logged_in, served
from tma_agent.web.auth import hash_password

PASSWORD = "right-password-0123"
NAMES = ("alice", "bob", "carol")


def _config(tmp_path: Path, database: str | None) -> Path:
    users = [
        {"name": name, "password_hash": hash_password(PASSWORD), "role": "staff"} for name in NAMES
    ]
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "clients": [{"id": "acme", "name": "ACME"}],
        "web": {
            "secret_key": "w" * 40,
            "users": users,
            "login_attempts": 3,
            "login_window_seconds": 300,
            "sync_every_seconds": 600,
        },
    }
    if database is not None:
        config["database"] = {"url": database}
    path = tmp_path / "tma.yaml"
    path.write_text(json.dumps(config))
    return path


def _log_in(url: str, source: str, name: str, password: str) -> tuple[int, float]:
    """(status, seconds) of a log-in through the form, from the loopback address `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=url, transport=transport, timeout=10) as web:
        token = csrf_of(web.get("/login").text)
        started = time.monotonic()
        done = web.post("/login", data={"name": name, "password": password, "csrf": token})
        return done.status_code, time.monotonic() - started


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(the config, the ledger's SQLAlchemy URL)."""
    if request.param == "sqlite":
        yield _config(tmp_path, None), f"sqlite:///{tmp_path / 'state' / 'ledger.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database(f"limits_{int(time.time() * 1000) % 10**9}")
    yield _config(tmp_path, url), url


def test_two_servers_share_the_log_in_limits(database: tuple[Path, str]) -> None:
    config, ledger_url = database
    with ExitStack() as servers:
        one = servers.enter_context(served(config))
        other = servers.enter_context(served(config))
        assert one != other
        # alice fails on both servers, from two addresses: 3 failures of her account.
        assert _log_in(one, "127.0.0.2", "alice", "wrong")[0] == 401
        assert _log_in(other, "127.0.0.2", "alice", "wrong")[0] == 401
        assert _log_in(one, "127.0.0.3", "alice", "wrong")[0] == 401
        # From a fresh address, with her right password, on either server: refused.
        assert _log_in(other, "127.0.0.4", "alice", PASSWORD)[0] == 429
        assert _log_in(one, "127.0.0.4", "alice", PASSWORD)[0] == 429
        # Another account from that address is not slowed, and its success writes nothing.
        rows = _failures(ledger_url)
        status, seconds = _log_in(other, "127.0.0.4", "bob", PASSWORD)
        assert status == 303 and seconds < 10, seconds  # no penalty delay (argon2 only)
        assert _failures(ledger_url) == rows
        # One address failing for three accounts across the servers is refused for any.
        assert _log_in(one, "127.0.0.5", "bob", "wrong")[0] == 401
        assert _log_in(other, "127.0.0.5", "carol", "wrong")[0] == 401
        assert _log_in(one, "127.0.0.5", "nobody", "wrong")[0] == 401
        assert _log_in(other, "127.0.0.5", "carol", PASSWORD)[0] == 429
        assert _log_in(one, "127.0.0.6", "carol", PASSWORD)[0] == 303  # carol: 1 failure
    # A restart forgets nothing.
    with served(config) as again:
        assert _log_in(again, "127.0.0.7", "alice", PASSWORD)[0] == 429
        # The window slides: failures older than it no longer count, and are pruned.
        _age(ledger_url, seconds=301)
        assert _log_in(again, "127.0.0.7", "alice", PASSWORD)[0] == 303
        assert _log_in(again, "127.0.0.8", "alice", "wrong")[0] == 401
    keys = _failures(ledger_url)
    assert len(keys) == 2  # the new failure's two keys: the aged ones are gone
    # Keyed by HMAC: no name or address is readable in the ledger.
    assert all(len(k) == 64 and set(k) <= set("0123456789abcdef") for k in keys)


def _sync(url: str) -> int:
    with logged_in(url, "alice", PASSWORD) as web:
        token = csrf_of(web.get("/requests").text)
        return web.post("/requests/sync?fragment=requests", data={"csrf": token}).status_code


def test_two_servers_space_the_syncs_alike(database: tuple[Path, str]) -> None:
    """ "sync now" pressed on one server, then on another or after a restart: refused until
    `web.sync_every_seconds` has passed, wherever it is pressed."""
    config, ledger_url = database
    with served(config) as one, served(config) as other:
        assert _sync(one) == 200
        assert _sync(other) == 429
        assert _sync(one) == 429
    with served(config) as again:
        assert _sync(again) == 429
        engine = create_engine(ledger_url)
        try:
            with Session(engine) as session, session.begin():
                (turn,) = session.scalars(select(Throttle))
                assert turn.scope == "all"
                turn.last_at -= timedelta(seconds=601)  # the spacing has passed
        finally:
            engine.dispose()
        assert _sync(again) == 200
        assert _sync(again) == 429


def _failures(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(LoginFailure.key)))
    finally:
        engine.dispose()


def _age(url: str, *, seconds: int) -> None:
    """Time passes for the failures recorded so far."""
    engine = create_engine(url)
    try:
        with Session(engine) as session, session.begin():
            for failure in session.scalars(select(LoginFailure)):
                failure.at -= timedelta(seconds=seconds)
    finally:
        engine.dispose()
