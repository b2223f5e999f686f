"""Alembic, run from code: the migrations ship inside the package, no alembic.ini is needed."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError

from tma_agent.ledger.database import LedgerError, Migrated, database_error, describe

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
    #: False when the database was migrated by a newer tma-agent than this one.
    known: bool = True

    @property
    def needs_upgrade(self) -> bool:
        return self.known and self.current != self.head


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError(f"no ledger migrations in {MIGRATIONS} (a broken install)")
    return head


def _is_known(revision: str | None) -> bool:
    return revision is None or revision in {
        script.revision for script in _scripts().walk_revisions()
    }


def _newer_than_us(url: str, revision: str | None) -> LedgerError:
    return LedgerError(
        f"ledger {url}: schema revision {revision} is newer than this tma-agent knows "
        f"(its newest: {head_revision()}); upgrade tma-agent"
    )


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def ledger_status(engine: Engine) -> LedgerStatus:
    try:
        with engine.connect() as connection:
            current = _current(connection)
    except DBAPIError as exc:
        raise database_error(engine, exc) from None
    return LedgerStatus(describe(engine.url), current, head_revision(), _is_known(current))


def upgrade_ledger(engine: Engine, revision: str = "head") -> Migrated:
    """Migrate to `revision` in one transaction; (revision before, revision after)."""
    try:
        with engine.begin() as connection:
            # SQLite's writers already queue on BEGIN IMMEDIATE (database.py).
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
            before = _current(connection)
            if not _is_known(before):
                # Alembic would fail on it; a newer agent's schema is left exactly as it is.
                raise _newer_than_us(describe(engine.url), before)
            command.upgrade(alembic_config(connection), revision)
            return before, _current(connection)
    except DBAPIError as exc:
        raise database_error(engine, exc) from None
