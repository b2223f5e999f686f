"""Backups and restores on a real MariaDB and real trees, locally and over the real sshd:
credentials read from each stack's own settings file (never executed), the password never in
a command line, an environment, an output or a log; restores bring back exactly what was."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tma_agent.apply.archives import archive_tree, old_backups, restore_tree
from tma_agent.apply.database import SiteDatabase, from_settings
from tma_agent.apply.dumps import dump_database, restore_database
from tma_agent.apply.php_literals import PhpSyntaxError, Unparsed, parse_php
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import CommandResult, Host
from tma_agent.testing.mariadb import MariaDBServer
from tma_agent.testing.site_settings import LAYOUTS, DatabaseLogin, write_settings
from tma_agent.testing.sshd import SSHServer
from tma_drupal.database import read_database as read_drupal
from tma_magento.database import read_database as read_magento
from tma_prestashop.database import read_database as read_prestashop
from tma_wordpress.database import read_database as read_wordpress

READERS = {
    "drupal": read_drupal,
    "wordpress": read_wordpress,
    "magento": read_magento,
    "prestashop": read_prestashop,
}
#: A password with every character a quoting bug would trip on.
HARD_PASSWORD = "pa$$ 'w\"or;d`\\%#x"


class Recorder:
    """Runs commands on a host the way StepContext.run does, and keeps every argv and output."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.argvs: list[list[str]] = []
        self.outputs: list[bytes] = []

    def __call__(
        self, argv: Sequence[str], *, stdin: bytes | None = None, secrets: Sequence[str] = ()
    ) -> CommandResult:
        self.argvs.append(list(argv))
        result = self.host.run(argv, stdin=stdin)
        self.outputs += [result.stdout, result.stderr, result.command.encode()]
        return result

    def shows(self, secret: str) -> bool:
        needle = secret.encode()
        return any(secret in item for argv in self.argvs for item in argv) or any(
            needle in out for out in self.outputs
        )


class ProcessWatch:
    """Reads every process' command line and environment while a dump runs: the password must
    be in none of them (what `ps` and /proc show every user of the host)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.leaks: list[str] = []
        self.seen_clients = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                for what in ("cmdline", "environ"):
                    try:
                        data = Path(f"/proc/{pid}/{what}").read_bytes()
                    except OSError:
                        continue
                    if self.secret in data:
                        self.leaks.append(f"{pid}/{what}")
                    if what == "cmdline" and (b"mariadb" in data or b"mysqldump" in data):
                        self.seen_clients += 1


def tree_checksums(root: Path) -> dict[str, str]:
    """Every entry under `root`: files by content and mode, links by target, dirs by mode."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = "link:" + os.readlink(path)
        elif path.is_dir():
            found[key] = f"dir:{path.stat().st_mode & 0o7777:o}"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[key] = f"{digest}:{path.stat().st_mode & 0o7777:o}"
    return found


def _seed(mariadb: MariaDBServer, name: str) -> None:
    mariadb.sql(
        "CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(200), body TEXT);"
        "INSERT INTO node VALUES (1, 'Accueil', 'Bienvenue 😀'), (2, 'About', 'x'),"
        " (3, 'O''Reilly', 'quotes \" and \\\\ backslash');"
        "CREATE TABLE users (uid INT PRIMARY KEY, mail VARCHAR(100));"
        "INSERT INTO users VALUES (1, 'admin@example.test'), (2, 'editor@example.test');"
        "CREATE VIEW titles AS SELECT title FROM node;"
        "CREATE TRIGGER node_touch BEFORE UPDATE ON node FOR EACH ROW SET NEW.body = NEW.body;",
        database=name,
    )


def _damage(mariadb: MariaDBServer, name: str) -> None:
    mariadb.sql(
        "UPDATE node SET title = 'hacked'; DELETE FROM users WHERE uid = 2;"
        "DROP VIEW titles; CREATE TABLE cache_new (cid INT); INSERT INTO cache_new VALUES (1);"
        "DROP TRIGGER node_touch;",
        database=name,
    )


# -- PHP literals --------------------------------------------------------------------------------
def test_php_literals_are_read_and_code_is_never_evaluated() -> None:
    php = parse_php(
        "<html><?php\n// $x = 'comment';\n# $x = 'hash';\n/* $x = 'block'; */\n"
        "$x = 'a' . \"b\\t\" . 3;\n$y = array(1, 'k' => [true, null, -2.5], 0x10);\n"
        "$z = getenv('SECRET');\n$w = \"in $x\";\n$n = <<<'EOT'\n  raw $x\n  EOT;\n"
        "define('A', 'one'); define('B', __DIR__ . '/x');\nreturn ['r' => 1];\n?>tail"
    )
    assert php.assigned("x") == "ab\t3"
    assert php.assigned("y") == {0: 1, "k": {0: True, 1: None, 2: -2.5}, 1: 16}
    assert php.assigned("z") == Unparsed(7, "getenv")
    assert isinstance(php.assigned("w"), Unparsed)
    assert php.assigned("n") == "raw $x"
    defines = php.defines()
    assert defines["A"] == "one" and isinstance(defines["B"], Unparsed)
    assert php.returned() == {"r": 1}


@pytest.mark.parametrize(
    "source, message",
    [
        ("<?php $a = 'never closed;", "line 1: unterminated string"),
        ("<?php\n/* never closed", "line 2: unterminated /* comment"),
        ("<?php $a = " + "[" * 100 + "]" * 100 + ";", "nested deeper than 32"),
    ],
)
def test_hostile_php_is_a_one_line_error(source: str, message: str) -> None:
    with pytest.raises(PhpSyntaxError, match=re.escape(message)):
        parse_php(source).assigned("a")


@pytest.mark.parametrize(
    "host, expected",
    [
        ("localhost:3307", ("localhost", 3307, None)),
        ("db.internal", ("db.internal", None, None)),
        ("localhost:/run/mysqld/mysqld.sock", ("localhost", None, "/run/mysqld/mysqld.sock")),
        ("/var/run/mysqld.sock", ("localhost", None, "/var/run/mysqld.sock")),
        ("p:10.0.0.5:3306", ("10.0.0.5", 3306, None)),
        ("[::1]:3308", ("::1", 3308, None)),
    ],
)
def test_host_forms(host: str, expected: tuple[str, int | None, str | None]) -> None:
    db = from_settings("/site/wp-config.php", host=host, name="n", user="u")
    assert (db.host, db.port, db.socket) == expected


def test_unusable_settings_name_the_file_and_never_show_the_password() -> None:
    with pytest.raises(SiteTreeError, match=r"^/s/x.php: database driver 'sqlite'"):
        from_settings("/s/x.php", driver="sqlite", name="n", user="u")
    with pytest.raises(SiteTreeError, match=r"^/s/x.php: no database user found$"):
        from_settings("/s/x.php", name="n", user="")
    with pytest.raises(SiteTreeError, match=r"^/s/x.php: bad database settings"):
        from_settings("/s/x.php", host="h:99999", name="n", user="u")


# -- each stack's settings file, read on the host ------------------------------------------------
@pytest.fixture
def site_dir(sshd: SSHServer) -> Path:
    """A tree both twins can read; a backup directory next to it both can write."""
    return sshd.make_shared_dir(writable=True)


LOGIN = DatabaseLogin("shop_db", "shop_user", HARD_PASSWORD, port=3307, socket="/run/my.sock")
EXPECTED = {
    "drupal10": ("127.0.0.1", 3307, None, ""),
    "drupal7": ("localhost", None, "/run/my.sock", "d7_"),
    "wordpress": ("127.0.0.1", 3307, None, "wp_"),
    "magento": ("127.0.0.1", 3307, None, "mg_"),
    "prestashop17": ("127.0.0.1", 3307, None, "ps_"),
    "prestashop16": ("localhost", None, "/run/my.sock", "ps_"),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_stack_reads_its_settings_file(host: Host, site_dir: Path, layout: str) -> None:
    stack, _ = LAYOUTS[layout]
    write_settings(site_dir, layout, LOGIN)
    db = READERS[stack](host, str(site_dir))
    assert db is not None
    assert (db.name, db.user, db.password.get_secret_value()) == (
        "shop_db",
        "shop_user",
        HARD_PASSWORD,
    )
    assert (db.host, db.port, db.socket, db.prefix) == EXPECTED[layout]
    assert HARD_PASSWORD not in repr(db) and HARD_PASSWORD not in str(db)
    # Another stack's reader finds nothing of its own there.
    others = [r for name, r in READERS.items() if name != stack]
    assert all(reader(host, str(site_dir)) is None for reader in others)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_computed_password_is_refused_naming_the_file(
    host: Host, site_dir: Path, layout: str
) -> None:
    (written,) = write_settings(site_dir, layout, LOGIN)
    text = written.read_text().replace(
        repr_php(HARD_PASSWORD), "'prefix-part' . getenv('DB_PASS')"
    )
    assert "getenv" in text
    written.write_text(text)
    stack, _ = LAYOUTS[layout]
    with pytest.raises(SiteTreeError) as caught:
        READERS[stack](host, str(site_dir))
    message = str(caught.value)
    assert message.startswith(f"{written}: database password: line ")
    assert "not a plain value (`getenv...`)" in message
    assert "prefix-part" not in message and "\n" not in message


def test_a_broken_settings_file_is_one_line_naming_it(host: Host, site_dir: Path) -> None:
    (written,) = write_settings(site_dir, "wordpress", LOGIN)
    written.write_bytes(written.read_bytes()[:300] + b"\xff\xfe define('DB_NAME', 'unterminated)")
    with pytest.raises(SiteTreeError, match=rf"^{written}: cannot read the settings: line \d+: "):
        read_wordpress(host, str(site_dir))


def repr_php(value: str) -> str:
    from tma_agent.testing.site_settings import php_string

    return php_string(value)


# -- dumps and restores on the real MariaDB -------------------------------------------------------
@pytest.fixture
def site_database(mariadb: MariaDBServer) -> Iterator[str]:
    name = mariadb.create_database()
    _seed(mariadb, name)
    yield name
    mariadb.sql(f"DROP DATABASE `{name}`")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_backup_and_restore_with_each_stacks_credentials(
    host: Host, site_dir: Path, mariadb: MariaDBServer, site_database: str, layout: str
) -> None:
    socket = mariadb.socket if layout in ("drupal7", "prestashop16") else None
    login = DatabaseLogin(site_database, mariadb.user, mariadb.password, port=mariadb.port,
                          socket=socket)  # fmt: skip
    write_settings(site_dir, layout, login)
    db = READERS[LAYOUTS[layout][0]](host, str(site_dir))
    assert db is not None
    before = mariadb.checksums(site_database)
    assert set(before) == {"node", "users", "titles"}
    runner = Recorder(host)
    backups = site_dir.parent / (site_dir.name + "-bk")
    backups.mkdir(mode=0o777)
    backups.chmod(0o777)
    dump = f"{backups}/database.sql.gz"
    size = dump_database(runner, db, dump)
    assert size == Path(dump).stat().st_size > 100
    assert Path(dump).stat().st_mode & 0o777 == 0o600
    _damage(mariadb, site_database)
    assert mariadb.checksums(site_database, ["node", "users"]) != {
        k: before[k] for k in ("node", "users")
    }
    restore_database(runner, db, dump)
    assert mariadb.checksums(site_database) == before
    assert mariadb.sql("SHOW TRIGGERS", database=site_database).split("\t")[0] == "node_touch"
    assert not runner.shows(mariadb.password)


def test_the_password_is_in_no_process_line_or_environment(
    local_host: Host, site_dir: Path, mariadb: MariaDBServer, site_database: str
) -> None:
    mariadb.sql(
        "CREATE TABLE big (id INT PRIMARY KEY, pad TEXT);"
        "INSERT INTO big SELECT seq, REPEAT('x', 500) FROM seq_1_to_15000;",
        database=site_database,
    )
    db = SiteDatabase(name=site_database, user=mariadb.user, password=mariadb.password,
                      host="127.0.0.1", port=mariadb.port)  # fmt: skip
    runner = Recorder(local_host)
    with ProcessWatch(mariadb.password) as watch:
        # The watch does catch a password given in a command line.
        decoy = subprocess.Popen(["sh", "-c", "sleep 0.3", "sh", mariadb.password])
        decoy.wait()
        assert f"{decoy.pid}/cmdline" in watch.leaks
        for _ in range(2):
            dump_database(runner, db, f"{site_dir}/dump.sql.gz")
            restore_database(runner, db, f"{site_dir}/dump.sql.gz")
    assert watch.seen_clients > 0  # the watch did see the clients running
    assert [leak for leak in watch.leaks if not leak.startswith(f"{decoy.pid}/")] == []
    assert not runner.shows(mariadb.password)
    # The option file is gone once the command is.
    assert not any(p.name == "secret" for p in Path("/tmp").glob("tmp.*/secret"))


def test_a_failed_dump_leaves_no_partial_file_and_says_why(
    host: Host, site_dir: Path, mariadb: MariaDBServer, site_database: str
) -> None:
    db = SiteDatabase(name=site_database, user=mariadb.user, password="wrong-password-1",
                      host="127.0.0.1", port=mariadb.port)  # fmt: skip
    with pytest.raises(Exception, match="Access denied") as caught:
        dump_database(Recorder(host), db, f"{site_dir}/dump.sql.gz")
    assert "wrong-password-1" not in str(caught.value)
    assert list(site_dir.iterdir()) == []


def test_a_truncated_dump_is_refused_before_anything_is_dropped(
    host: Host, site_dir: Path, mariadb: MariaDBServer, site_database: str
) -> None:
    db = SiteDatabase(name=site_database, user=mariadb.user, password=mariadb.password,
                      socket=mariadb.socket)  # fmt: skip
    dump = site_dir / "dump.sql.gz"
    dump_database(Recorder(host), db, str(dump))
    dump.write_bytes(dump.read_bytes()[:-20])
    before = mariadb.checksums(site_database)
    with pytest.raises(Exception, match="unexpected end of file|crc error|invalid"):
        restore_database(Recorder(host), db, str(dump))
    assert mariadb.checksums(site_database) == before


@pytest.fixture
def local_host() -> Iterator[Host]:
    from tma_agent.hosts import LocalHost

    with LocalHost() as twin:
        yield twin


# -- files ---------------------------------------------------------------------------------------
def _build_tree(root: Path) -> None:
    (root / "core" / "lib").mkdir(parents=True)
    (root / "core" / "lib" / "Drupal.php").write_text("<?php // core 10.2.0\n")
    (root / "index.php").write_text("<?php require 'core/lib/Drupal.php';\n")
    (root / "sites" / "default" / "files" / "styles").mkdir(parents=True)
    (root / "sites" / "default" / "files" / "photo.jpg").write_bytes(os.urandom(2048))
    (root / "sites" / "default" / "settings.php").write_text("<?php $databases = [];\n")
    (root / "sites" / "default" / "settings.php").chmod(0o444)
    (root / "modules" / "token").mkdir(parents=True)
    (root / "modules" / "token" / "token.info.yml").write_text("version: '8.x-1.13'\n")
    (root / "modules" / "token" / "run.sh").write_text("#!/bin/sh\n")
    (root / "modules" / "token" / "run.sh").chmod(0o755)
    (root / "error.log").write_text("old errors\n")
    (root / "name with spaces & $(quotes)'.txt").write_text("odd\n")
    (root / "latest").symlink_to("core/lib/Drupal.php")
    (root / "sites" / "default").chmod(0o555)  # as Drupal leaves it


def _change_tree(root: Path) -> None:
    (root / "sites" / "default").chmod(0o755)
    (root / "core" / "lib" / "Drupal.php").write_text("<?php // core 10.3.0\n")
    (root / "core" / "lib" / "New.php").write_text("<?php // added by the update\n")
    (root / "modules" / "pathauto" / "src").mkdir(parents=True)
    (root / "modules" / "pathauto" / "src" / "x.php").write_text("<?php\n")
    (root / "modules" / "token" / "token.info.yml").unlink()
    (root / "modules" / "token" / "run.sh").chmod(0o644)
    (root / "index.php").unlink()
    (root / "latest").unlink()
    (root / "latest").symlink_to("index.php")
    (root / "sites" / "default" / "files" / "upload-after.pdf").write_text("a client's upload")
    (root / "error.log").write_text("new errors\n")


def _own(root: Path, sshd: SSHServer) -> None:
    """The site belongs to the SSH user, as on a real host (the update runs as that user)."""
    if sshd.is_root:
        subprocess.run(["chown", "-R", "--no-dereference", sshd.user, str(root)], check=True)


def test_files_restore_brings_the_tree_back_exactly(host: Host, sshd: SSHServer) -> None:
    root = sshd.make_shared_dir(writable=True) / "site"
    backups = sshd.make_shared_dir(writable=True)
    root.mkdir()
    _build_tree(root)
    _own(root, sshd)
    before = tree_checksums(root)
    exclude = ["sites/default/files", "*.log"]
    runner = Recorder(host)
    size = archive_tree(runner, str(root), f"{backups}/files.tar.gz", exclude)
    assert size == (backups / "files.tar.gz").stat().st_size > 0
    _change_tree(root)
    _own(root, sshd)
    restore_tree(runner, str(root), f"{backups}/files.tar.gz", exclude)
    after = tree_checksums(root)
    # Excluded paths are as they are now; everything else exactly as before.
    kept = {"sites/default/files/upload-after.pdf", "error.log"}
    assert {k: v for k, v in after.items() if k not in kept} == {
        k: v for k, v in before.items() if k != "error.log"
    }
    assert (root / "sites" / "default" / "files" / "upload-after.pdf").exists()
    assert (root / "error.log").read_text() == "new errors\n"


def test_old_backups_keeps_the_newest_and_the_current_one() -> None:
    names = ["20240101T000000Z-1", "20250101T000000Z-1", "20260101T000000Z-1", "..", "a/b"]
    assert old_backups("/b/shop", names, 2, "20260101T000000Z-1") == [
        "/b/shop/20240101T000000Z-1"
    ]
    # The current apply is kept even when it would not sort newest.
    assert old_backups("/b/shop", [*names, "0-current"], 1, "0-current") == [
        "/b/shop/20260101T000000Z-1",
        "/b/shop/20250101T000000Z-1",
        "/b/shop/20240101T000000Z-1",
    ]
