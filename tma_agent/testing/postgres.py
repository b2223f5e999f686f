"""A throwaway PostgreSQL cluster for tests: Debian's server binaries, data and socket in a
temporary directory, listening on 127.0.0.1 on a free port, removed when the session ends.

initdb refuses to run as root, so as root the cluster belongs to the unprivileged `tma-test`
user (the sshd fixture's); otherwise to the current user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tma_agent.testing.sshd import _ensure_test_user, _free_port

__all__ = ["PostgresCluster", "database_url", "find_pg_bin", "postgres_cluster"]


def find_pg_bin() -> Path:
    """The newest installed server's bin directory; a clear failure naming the package."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if not found:
        raise RuntimeError("PostgreSQL server binaries missing: apt-get install postgresql")
    return Path(found[-1]).parent


def _major(initdb: str) -> int:
    return int(Path(initdb).parent.parent.name)


class PostgresCluster:
    def __init__(self) -> None:
        self.bin = find_pg_bin()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tma-pg-"))
        self.data = self.root / "data"
        self._user = _ensure_test_user() if os.geteuid() == 0 else None
        self._created = 0

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def start(self) -> PostgresCluster:
        if self._user:
            record = pwd.getpwnam(self._user)
            os.chown(self.root, record.pw_uid, record.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        # fsync off: a crash of a test cluster loses nothing anyone needs, and it is much faster.
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        # -l: the server must not inherit our pipes, or capturing pg_ctl's output never ends.
        log = str(self.root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start"
        )
        return self

    def create_database(self, prefix: str = "ledger") -> str:
        """A new empty database; its `postgresql+psycopg://` URL (over TCP on 127.0.0.1)."""
        self._created += 1
        name = f"{prefix}_{self._created}_{int(time.time() * 1000) % 100000}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            # Already gone: the directory is removed all the same.
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the session (`create_database()` per test keeps them apart)."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty database: once a SQLite file, once a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database()
