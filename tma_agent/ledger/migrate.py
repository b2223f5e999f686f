"""Alembic, run from code: the migrations ship inside the package, no alembic.ini is needed."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError

from tma_agent.ledger.database import database_error

__all__ = [
    "MIGRATIONS",
    "LedgerStatus",
    "alembic_config",
    "head_revision",
    "ledger_status",
    "upgrade_ledger",
]

MIGRATIONS = "tma_agent.ledger:migrations"
#: PostgreSQL advisory lock taken while migrating: machines sharing one database migrate once.
_MIGRATION_LOCK_KEY = 0x746D61_6C6564  # "tma" "led"


@dataclass(frozen=True)
class LedgerStatus:
    url: str
    current: str | None
    head: str

    @property
    def needs_upgrade(self) -> bool:
        return self.current != self.head


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - the package ships at least the first migration
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def ledger_status(engine: Engine) -> LedgerStatus:
    try:
        with engine.connect() as connection:
            current = _current(connection)
    except DBAPIError as exc:
        raise database_error(engine, exc) from None
    return LedgerStatus(engine.url.render_as_string(hide_password=True), current, head_revision())


def upgrade_ledger(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision` in one transaction; (revision before, revision after)."""
    try:
        with engine.begin() as connection:
            # SQLite's writers already queue on BEGIN IMMEDIATE (database.py).
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
            before = _current(connection)
            command.upgrade(alembic_config(connection), revision)
            return before, _current(connection)
    except DBAPIError as exc:
        raise database_error(engine, exc) from None
