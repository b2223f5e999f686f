"""A throwaway MariaDB server for tests: Debian's `mariadbd`, its data directory and socket in
a temporary directory, listening on 127.0.0.1 on a free port, removed when the session ends.

mariadbd refuses to run as root unless told which user to become: as root the server runs as
the unprivileged `tma-test` user (the sshd fixture's, so a site reached over SSH talks to it as
the same user a real host would); otherwise as the current user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tma_agent.testing.sshd import _ensure_test_user, _free_port, _port_open

__all__ = ["MARIADBD", "MariaDBServer", "mariadb"]

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "mariadb-install-db"
CLIENT = "mariadb"


class MariaDBServer:
    """Start with `start()` (or as a context manager). `create_database()` gives each test its
    own database; the one account `user`/`password` may use every database."""

    def __init__(self, *, user: str = "tma_site", password: str | None = None) -> None:
        if not Path(MARIADBD).exists():
            raise RuntimeError("MariaDB server missing: apt-get install mariadb-server")
        self.host = "127.0.0.1"
        self.port = 0
        self.user = user
        # Unique per server (a leak test greps for it) and full of what quoting bugs trip on.
        self.password = password or f"pa5s w'rd\"$;-{secrets.token_hex(6)}"
        self.root = Path(tempfile.mkdtemp(prefix="tma-mariadb-"))
        # Clients running as the SSH test user must reach the socket through this directory.
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.socket = str(self.root / "mariadb.sock")
        self.log_path = self.root / "server.log"
        self._os_user = _ensure_test_user() if os.geteuid() == 0 else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._created = 0

    def _server_options(self) -> list[str]:
        options = [
            f"--datadir={self.data}",
            f"--socket={self.socket}",
            f"--pid-file={self.root / 'mariadb.pid'}",
            f"--log-error={self.log_path}",
            # Speed over durability: a crashed test server loses nothing anyone needs.
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=8M",
            "--skip-log-bin",
            "--performance-schema=OFF",
        ]
        if self._os_user:
            options.append(f"--user={self._os_user}")
        return options

    def start(self, *, wait: float = 60.0) -> MariaDBServer:
        if self._os_user:
            record = pwd.getpwnam(self._os_user)
            os.chown(self.root, record.pw_uid, record.pw_gid)
        install = [
            INSTALL_DB,
            "--no-defaults",
            f"--datadir={self.data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *([f"--user={self._os_user}"] if self._os_user else []),
        ]
        _checked(install, "mariadb-install-db", timeout=120)
        self.port = _free_port()
        self._proc = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",
                *self._server_options(),
                "--bind-address=127.0.0.1",
                f"--port={self.port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self._proc.poll() is None:
            if _port_open(self.port) and Path(self.socket).exists():
                self._create_account()
                return self
            time.sleep(0.1)
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        raise RuntimeError(f"mariadbd did not start on 127.0.0.1: {log.strip()[-500:]}")

    def _create_account(self) -> None:
        quoted = self.password.replace("\\", "\\\\").replace("'", "\\'")
        self.sql(
            f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{quoted}';"
            f"CREATE USER '{self.user}'@'localhost' IDENTIFIED BY '{quoted}';"
            f"GRANT ALL ON *.* TO '{self.user}'@'%'; GRANT ALL ON *.* TO '{self.user}'@'localhost';"
        )

    def sql(self, statements: str, *, database: str | None = None) -> str:
        """Run SQL as the server's root over the socket; the tab-separated answer, no headers."""
        argv = [CLIENT, "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"]
        argv.append("--default-character-set=utf8mb4")
        proc = subprocess.run(
            [*argv, *([database] if database else [])],
            input=statements,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"mariadb failed: {proc.stderr.strip()}")
        return proc.stdout

    def create_database(self, prefix: str = "site") -> str:
        """A new empty database; its name."""
        self._created += 1
        name = f"{prefix}_{self._created}_{int(time.time() * 1000) % 100000}"
        self.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return name

    def checksums(self, database: str, tables: Sequence[str] | None = None) -> dict[str, str]:
        """`CHECKSUM TABLE` of every table (or of `tables`): table -> checksum."""
        names = list(tables) if tables is not None else self.tables(database)
        if not names:
            return {}
        listing = ", ".join(f"`{name}`" for name in names)
        rows = self.sql(f"CHECKSUM TABLE {listing} EXTENDED", database=database)
        found = (line.split("\t") for line in rows.splitlines() if line)
        return {name.split(".", 1)[1]: value for name, value in found}

    def tables(self, database: str) -> list[str]:
        return sorted(self.sql("SHOW TABLES", database=database).split())

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> MariaDBServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _checked(argv: list[str], what: str, *, timeout: float) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip()[-500:] or proc.stdout[-500:]}")


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """One MariaDB server for the session (`create_database()` per test keeps them apart)."""
    with MariaDBServer() as server:
        yield server
