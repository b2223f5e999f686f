"""Engines and sessions for the ledger, from `database.url` (default: SQLite in `state_dir`)."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tma_agent.errors import ConfigError, TmaError

if TYPE_CHECKING:
    from tma_agent.config import Config

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "Ledger",
    "LedgerError",
    "Migrated",
    "database_error",
    "describe",
    "make_engine",
    "open_existing_ledger",
    "open_ledger",
    "parse_url",
]

#: How long a SQLite writer waits for another one (a run and `tma requests validate` at once).
SQLITE_BUSY_TIMEOUT_MS = 30_000


#: (schema revision before, after) of an upgrade.
Migrated = tuple[str | None, str | None]


class LedgerError(TmaError):
    """The ledger database cannot be opened, read or upgraded (the message names it)."""


def describe(url: URL) -> str:
    """The URL for messages: never its password."""
    return url.render_as_string(hide_password=True)


def parse_url(raw: str, *, where: str = "database.url") -> URL:
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):  # a bad port is a ValueError from int()
        raise ConfigError(f"{where}: not a database URL") from None
    if url.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver the agent ships; SQLAlchemy's default would be psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"{where}: unsupported database {url.drivername!r} (sqlite or postgresql+psycopg)"
        )
    if url.drivername == "sqlite" and url.database in (None, "", ":memory:"):
        raise ConfigError(f"{where}: a SQLite ledger needs a file path (sqlite:////PATH)")
    return url


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling never wraps DDL and starts transactions lazily;
    # turning it off and beginning explicitly (below) makes migrations atomic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # PRAGMAs have no Core expression. The busy timeout comes first: switching to WAL waits too.
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """WAL is a property of the file, set once. While another process migrates a fresh ledger
    (it holds the write lock), the switch needs an exclusive lock that SQLite refuses at once,
    busy timeout or not (waiting could deadlock): retry until the other process commits."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at the start, so two writers queue on the busy timeout
    # instead of one failing when it upgrades a read to a write (and migrations serialize).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _create_private_file(url: URL) -> None:
    """Create a new SQLite ledger readable by its owner only (it names clients and holds the
    ticket systems' answers); SQLite gives its -wal and -shm files the same mode."""
    path = Path(url.database or "").expanduser()
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise LedgerError(
            f"ledger {describe(url)}: cannot create {path} ({exc.strerror})"
        ) from None


def make_engine(raw_url: str, *, where: str = "database.url", create: bool = True) -> Engine:
    """The ledger's engine; `create=False` never creates a SQLite file (dry runs)."""
    url = parse_url(raw_url, where=where)
    if url.drivername == "sqlite" and create:
        _create_private_file(url)
    engine = create_engine(url, pool_pre_ping=url.drivername != "sqlite")
    if url.drivername == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def database_error(engine: Engine, exc: DBAPIError) -> LedgerError:
    """One line naming the database, from a driver error's first line."""
    detail = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    return LedgerError(f"ledger {describe(engine.url)}: {detail}")


class Ledger:
    """The opened ledger; `with ledger.session() as s:` is one unit of work."""

    def __init__(self, engine: Engine, *, migrated: Migrated | None = None) -> None:
        self.engine = engine
        #: (revision before, after) when this opening upgraded the schema, else None.
        self.migrated = migrated if migrated and migrated[0] != migrated[1] else None
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Commits when the block ends, rolls back when it raises."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_ledger(config: Config, *, upgrade: bool = True) -> Ledger:
    """The ledger of `config`, upgraded to the newest schema first unless `upgrade` is False.
    Upgrading only adds to what is there (every migration keeps the rows), and runs once even
    when several processes start at the same moment."""
    from tma_agent.ledger.migrate import upgrade_ledger

    if config.database.url is None:
        config.ensure_state_dir()
    engine = make_engine(config.database_url, where=config.where(("database", "url")))
    migrated = None
    if upgrade:
        try:
            migrated = upgrade_ledger(engine)
        except BaseException:
            engine.dispose()
            raise
    return Ledger(engine, migrated=migrated)


def open_existing_ledger(config: Config) -> tuple[Ledger | None, str | None]:
    """The ledger to read without writing anything (`--dry-run`): (None, why) when there is
    none yet or when it needs an upgrade first (a dry run never migrates)."""
    from tma_agent.ledger.migrate import ledger_status

    url = parse_url(config.database_url, where=config.where(("database", "url")))
    if url.drivername == "sqlite" and not Path(url.database or "").expanduser().exists():
        return None, "no ledger yet: everything would be new"
    engine = make_engine(config.database_url, create=False)
    status = ledger_status(engine)
    if status.needs_upgrade or not status.known:
        engine.dispose()
        return None, (
            f"the ledger needs an upgrade ({status.current or 'empty'} → {status.head}; "
            "tma db upgrade): compared with an empty ledger"
        )
    return Ledger(engine), None
