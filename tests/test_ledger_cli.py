"""`tma db upgrade` and `tma db status` through the real command line, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tma_agent.ledger import ledger_status, make_engine
from tma_agent.ledger.migrate import head_revision
from tma_agent.testing.cli import run_tma
from tma_agent.testing.postgres import PostgresCluster


def _config(tmp_path: Path, database: str) -> Path:
    path = tmp_path / "tma.yaml"
    path.write_text(f"state_dir: {tmp_path / 'state'}\n{database}")
    return path


def _status_lines(config: Path) -> dict[str, str]:
    result = run_tma("db", "status", config=config)
    assert result.returncode == 0, result.stderr
    return dict(line.split(":", 1) for line in result.stdout.splitlines())


def _upgrade_then_status(config: Path, url: str) -> None:
    before = _status_lines(config)
    assert before["current"].strip() == "none (empty database)"
    assert before["upgrade needed"].strip().startswith("yes")

    first = run_tma("db", "upgrade", config=config)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"ledger upgraded from an empty database to {head_revision()}"
    again = run_tma("db", "upgrade", config=config)
    assert (again.returncode, again.stdout.strip()) == (0, f"ledger already at {head_revision()}")

    after = _status_lines(config)
    assert after["current"].strip() == after["head"].strip() == head_revision()
    assert after["upgrade needed"].strip() == "no"
    engine = make_engine(url)
    try:
        assert ledger_status(engine).current == head_revision()
    finally:
        engine.dispose()


def test_db_upgrade_and_status_on_the_default_sqlite_ledger(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    _upgrade_then_status(config, f"sqlite:///{tmp_path / 'state' / 'ledger.db'}")
    assert _status_lines(config)["database"].strip().endswith("/state/ledger.db")


def test_db_upgrade_and_status_on_postgresql_from_a_secret(
    tmp_path: Path, postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_cluster.create_database()
    monkeypatch.setenv("TMA_TEST_DATABASE_URL", url)
    config = _config(tmp_path, "database:\n  url: {$env: TMA_TEST_DATABASE_URL}\n")
    _upgrade_then_status(config, url)
    assert not (tmp_path / "state" / "ledger.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://agency:s3cret@db.example/tma", "must be sqlite:///PATH or postgresql"),
        ("sqlite://", "must be sqlite:///PATH or postgresql"),
        ("postgresql+psycopg://agency:s3cret@[::1/tma", "not a database URL"),
    ],
)
def test_a_bad_database_url_is_one_line_naming_the_key(
    tmp_path: Path, url: str, message: str
) -> None:
    config = _config(tmp_path, f"database:\n  url: '{url}'\n")
    for command in (("db", "status"), ("db", "upgrade")):
        result = run_tma(*command, config=config)
        assert result.returncode == 2, result
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert "tma.yaml:3: database.url:" in lines[0] and message in lines[0]
        assert "s3cret" not in result.stderr


def test_an_unreachable_database_is_one_line_naming_it_without_its_password(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://agency:s3cret@127.0.0.1:{port}/tma"
    result = run_tma("db", "upgrade", config=_config(tmp_path, f"database: {{url: '{url}'}}\n"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"ledger postgresql+psycopg://agency:***@127.0.0.1:{port}/tma:" in result.stderr
    assert "s3cret" not in result.stderr


def test_a_ledger_of_a_newer_agent_is_reported_not_migrated(tmp_path: Path) -> None:
    from sqlalchemy import MetaData, Table, update

    config = _config(tmp_path, "")
    assert run_tma("db", "upgrade", config=config).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'ledger.db'}")
    try:
        with engine.begin() as connection:
            versions = Table("alembic_version", MetaData(), autoload_with=connection)
            connection.execute(update(versions).values(version_num="9999"))
    finally:
        engine.dispose()
    assert "newer than this tma-agent" in _status_lines(config)["current"]
    result = run_tma("db", "upgrade", config=config)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: ledger sqlite:///{tmp_path / 'state' / 'ledger.db'}: schema revision 9999 is "
        f"newer than this tma-agent knows (its newest: {head_revision()}); upgrade tma-agent"
    ]


def test_a_file_that_is_not_a_database_is_one_line_naming_it(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    ledger.write_bytes(b"this is a backup script, not a ledger\n" * 200)
    config = _config(tmp_path, f"database: {{url: 'sqlite:///{ledger}'}}\n")
    for command in (("db", "status"), ("db", "upgrade")):
        result = run_tma(*command, config=config)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"error: ledger sqlite:///{ledger}: file is not a database"
        ]
    assert ledger.read_bytes().startswith(b"this is a backup script")


def test_a_sqlite_ledger_in_a_missing_directory_is_one_line_naming_it(tmp_path: Path) -> None:
    ledger = tmp_path / "no-such-dir" / "ledger.db"
    config = _config(tmp_path, f"database: {{url: 'sqlite:///{ledger}'}}\n")
    result = run_tma("db", "upgrade", config=config)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: ledger sqlite:///{ledger}: cannot create {ledger} (No such file or directory)"
    ]
