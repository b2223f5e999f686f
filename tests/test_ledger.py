"""The ledger's schema and migrations, on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from tma_agent.ledger import Ledger, ledger_status, make_engine, upgrade_ledger
from tma_agent.ledger.database import LedgerError
from tma_agent.ledger.migrate import head_revision
from tma_agent.ledger.models import (
    Base,
    Kind,
    Lease,
    Request,
    RequestEvent,
    Run,
    WorkState,
)

FIRST = "0001"


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def test_schema_at_head_matches_the_models(engine: Engine) -> None:
    assert upgrade_ledger(engine) == (None, head_revision())
    assert _differences(engine) == []
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    assert not ledger_status(engine).needs_upgrade


def _request(fingerprint: str, **changes: object) -> Request:
    fields: dict[str, object] = dict(
        fingerprint=fingerprint,
        site="acme-www",
        client="acme",
        group_key="site",
        kind=Kind.PREVENTIVE,
        priority="high",
        estimate_minutes=150,
        title="Updates for acme-www",
        description="- drupal/core 10.2.1 → 10.2.3\n",
        target_digest="d" * 64,
        state=WorkState.ESTIMATED,
    )
    return Request(**{**fields, **changes})


def _rows(engine: Engine, model: type[Base]) -> list[tuple[object, ...]]:
    table = model.__table__
    with engine.connect() as connection:
        return [
            tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key))
        ]


def _old_tables(engine: Engine) -> dict[str, Table]:
    """The tables as the database has them now (an old revision's), not as the models say."""
    metadata = MetaData()
    metadata.reflect(engine)
    return dict(metadata.tables)


def _old_rows(engine: Engine, tables: dict[str, Table]) -> dict[str, list[dict[str, object]]]:
    with engine.connect() as connection:
        return {
            name: [
                dict(row._mapping)
                for row in connection.execute(select(table).order_by(*table.primary_key))
            ]
            for name, table in tables.items()
            if name != "alembic_version"
        }


def test_a_database_of_the_first_migration_is_upgraded_with_every_row(engine: Engine) -> None:
    assert upgrade_ledger(engine, FIRST) == (None, FIRST)
    assert "runs" not in inspect(engine).get_table_names()
    # Rows written the way the first revision's code wrote them: with its own columns only.
    tables = _old_tables(engine)
    now = datetime.now(UTC)
    request = {
        "site": "acme-www",
        "client": "acme",
        "group_key": "site",
        "kind": "preventive",
        "priority": "high",
        "estimate_minutes": 150,
        "title": "Updates for acme-www",
        "description": "- drupal/core 10.2.1 → 10.2.3\n",
        "target_digest": "d" * 64,
        "created_at": now,
        "updated_at": now,
    }
    with engine.begin() as connection:
        connection.execute(
            tables["requests"].insert(),
            [
                {
                    **request,
                    "id": 1,
                    "fingerprint": "acme-www/site#1",
                    "state": "closed",
                    "ticket_backend": "redmine",
                    "ticket_ref": None,
                    "previous_id": None,
                },
                {
                    **request,
                    "id": 2,
                    "fingerprint": "acme-www/site",
                    "state": "estimated",
                    "ticket_backend": None,
                    "ticket_ref": "1234",
                    "previous_id": 1,
                },
            ],
        )
        connection.execute(
            tables["request_events"].insert(),
            {
                "request_id": 2,
                "from_state": "new",
                "to_state": "estimated",
                "actor": "tma",
                "source": "agent",
                "at": now,
            },
        )
        connection.execute(
            tables["validations"].insert(),
            {"request_id": 2, "validated_by": "Jane Client", "source": "redmine", "at": now},
        )
        connection.execute(
            tables["outbox"].insert(),
            {
                "request_id": 2,
                "operation": "create",
                "payload": {"title": "é", "n": [1, 2]},
                "idempotency_key": "create:acme-www/site",
                "state": "parked",
                "attempts": 3,
                "last_answer": "422 Unprocessable",
                "created_at": now,
                "updated_at": now,
            },
        )
    before = _old_rows(engine, tables)
    assert all(before.values())

    assert upgrade_ledger(engine) == (FIRST, head_revision())
    after = _old_rows(engine, _old_tables(engine))
    for name, rows in before.items():
        # Every row and every old column kept, value for value; new columns only added.
        assert [{k: row[k] for k in rows[0]} for row in after[name]] == rows, name
    assert _differences(engine) == []
    ledger = Ledger(engine)
    with ledger.session() as session:
        session.add(Run(summary={"queued": 0}))
        linked = session.scalars(select(Request).where(Request.ticket_ref == "1234")).one()
        assert linked.previous is not None and linked.previous.fingerprint == "acme-www/site#1"
        assert (
            linked.estimate_minutes == 150 and linked.validations[0].validated_by == "Jane Client"
        )
        assert linked.targets == [] and linked.revision == 0
        assert linked.events[0].to_state is WorkState.ESTIMATED
    with ledger.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1


def test_a_unit_of_work_that_fails_is_rolled_back(engine: Engine) -> None:
    upgrade_ledger(engine)
    ledger = Ledger(engine)
    with pytest.raises(RuntimeError), ledger.session() as session:
        session.add(_request("acme-www/site"))
        session.flush()
        raise RuntimeError("the ticket system said no")
    with ledger.session() as session:
        assert session.scalars(select(Request)).all() == []


def test_an_orphan_row_is_refused(engine: Engine) -> None:
    upgrade_ledger(engine)
    ledger = Ledger(engine)
    with pytest.raises(IntegrityError), ledger.session() as session:
        session.add(
            RequestEvent(
                request_id=999,
                to_state=WorkState.NEW,
                actor="x",
                source="cli",
                at=datetime.now(UTC),
            )
        )
    with pytest.raises(IntegrityError), ledger.session() as session:
        session.add_all([_request("same"), _request("same")])


def test_sqlite_pragmas_are_set_on_every_connection(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    for _ in range(2):
        with engine.connect() as connection:
            # PRAGMAs have no Core expression: this is what the driver is told on connecting.
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        engine.dispose()  # the second round opens a new connection
    # WAL is stored in the file itself; foreign keys are per connection, off unless asked for.
    with closing(sqlite3.connect(tmp_path / "ledger.db")) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA foreign_keys").fetchone() == (0,)


OPEN_AT = """
import sys, time
from tma_agent.config import load_config
from tma_agent.ledger import open_ledger
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
with open_ledger(load_config(__import__("pathlib").Path(sys.argv[1]))) as ledger:
    print("MIGRATED", ledger.migrated)
"""


def test_two_processes_opening_a_fresh_ledger_at_once_migrate_it_once(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "tma.yaml"
    config.write_text(f"state_dir: {tmp_path / 'state'}\ndatabase: {{url: '{database_url}'}}\n")
    # Both interpreters are started, then released at the same instant (imports take a while).
    start = time.time() + 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(OPEN_AT), str(config), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    said = sorted(out.strip() for out, _ in results)
    assert said == [f"MIGRATED (None, '{head_revision()}')", "MIGRATED None"], results
    engine = make_engine(database_url)
    try:
        assert ledger_status(engine).current == head_revision()
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_a_ledger_migrated_by_a_newer_agent_is_refused_and_left_as_it_is(engine: Engine) -> None:
    upgrade_ledger(engine)
    with Ledger(engine).session() as session:
        session.add(_request("acme-www/site"))
    with engine.begin() as connection:
        versions = Table("alembic_version", MetaData(), autoload_with=connection)
        connection.execute(update(versions).values(version_num="9999"))
    status = ledger_status(engine)
    assert (status.current, status.known, status.needs_upgrade) == ("9999", False, False)
    with pytest.raises(LedgerError) as caught:
        upgrade_ledger(engine)
    message = str(caught.value)
    assert "\n" not in message and "schema revision 9999 is newer than this tma-agent" in message
    assert ledger_status(engine).current == "9999"
    assert len(_rows(engine, Request)) == 1


def test_times_come_back_as_aware_utc_on_every_database(engine: Engine) -> None:
    upgrade_ledger(engine)
    paris = timezone(timedelta(hours=1))
    expires = datetime(2026, 12, 1, 23, 30, tzinfo=paris)
    with Ledger(engine).session() as session:
        session.add(Lease(name="run", holder="host-a:4242", expires_at=expires))
    with Ledger(engine).session() as session:
        lease = session.get(Lease, "run")
        assert lease is not None
        assert lease.expires_at == expires and lease.expires_at.tzinfo == UTC
        assert lease.expires_at.hour == 22
        assert lease.heartbeat_at <= datetime.now(UTC)  # comparable with an aware now
        # A lease that expired is found by comparing in the database, on both backends.
        expired = select(Lease.name).where(Lease.expires_at < datetime(2027, 1, 1, tzinfo=UTC))
        assert session.scalars(expired).all() == ["run"]
    with pytest.raises(StatementError, match="naive datetime"), Ledger(engine).session() as s:
        s.add(Lease(name="site:acme", holder="x", expires_at=datetime(2026, 12, 1)))


def test_a_new_sqlite_ledger_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade_ledger(engine)
        with engine.connect() as connection:  # held open: the -wal file exists meanwhile
            connection.execute(select(func.count()).select_from(Run)).scalar()
            modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("ledger.db*")}
    finally:
        engine.dispose()
    assert modes.keys() >= {"ledger.db", "ledger.db-wal"} and set(modes.values()) == {0o600}


def test_a_connection_waits_while_another_process_writes_a_fresh_sqlite_ledger(
    tmp_path: Path,
) -> None:
    # A fresh file is still in rollback-journal mode: while another process holds its write
    # lock (a migration), switching to WAL is refused at once whatever the busy timeout, so
    # the second `tma` starting at that moment must wait for the first, not fail.
    path = tmp_path / "ledger.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); c.execute('CREATE TABLE t (x)')\n"
            "print('locked', flush=True); time.sleep(1.5); c.execute('COMMIT')\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        engine = make_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as connection:
                mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
                tables = connection.exec_driver_sql("SELECT name FROM sqlite_master").all()
        finally:
            engine.dispose()
    finally:
        assert holder.wait(timeout=30) == 0
    assert mode == "wal"
    assert tables == [("t",)]  # connected only once the other process had committed
