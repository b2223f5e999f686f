"""Backups and restores on a real MariaDB and real trees, locally and over the real sshd:
credentials read from each stack's own settings file (never executed), the password never in
a command line, an environment, an output or a log; restores bring back exactly what was."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from tma_drupal.database import read_database as read_drupal
from tma_magento.database import read_database as read_magento
from tma_prestashop.database import read_database as read_prestashop
from tma_wordpress.database import read_database as read_wordpress

from tma_agent.apply.database import SiteDatabase, from_settings
from tma_agent.apply.dumps import dump_database, restore_database
from tma_agent.apply.php_literals import PhpSyntaxError, Unparsed, parse_php
from tma_agent.apply.tree_backup import archive_tree, old_backups, restore_tree
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import CommandResult, Host
from tma_agent.testing.mariadb import MariaDBServer
from tma_agent.testing.postgres import PostgresCluster
from tma_agent.testing.site_settings import LAYOUTS, DatabaseLogin, write_settings
from tma_agent.testing.sshd import SSHServer

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
        "CREATE TRIGGER node_touch BEFORE UPDATE ON node FOR EACH ROW SET NEW.body = NEW.body;"
        "CREATE PROCEDURE node_count() SELECT COUNT(*) FROM node;",
        database=name,
    )


def _routines(mariadb: MariaDBServer, name: str) -> list[str]:
    found = mariadb.sql(
        "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
        database=name,
    )
    return sorted(found.split())


def _damage(mariadb: MariaDBServer, name: str) -> None:
    mariadb.sql(
        "UPDATE node SET title = 'hacked'; DELETE FROM users WHERE uid = 2;"
        "DROP VIEW titles; CREATE TABLE cache_new (cid INT); INSERT INTO cache_new VALUES (1);"
        "DROP TRIGGER node_touch; DROP PROCEDURE node_count;"
        "CREATE FUNCTION added_since() RETURNS INT DETERMINISTIC RETURN 1;",
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
    text = written.read_text().replace(repr_php(HARD_PASSWORD), "'prefix-part' . getenv('DB_PASS')")
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


@pytest.mark.parametrize(
    "hostile, reason",
    [
        ("define('DB_NAME', " + "[" * 200 + "]" * 200 + ");", r"line 2: arrays nested deeper"),
        ("define('DB_NAME', " + "9" * 6000 + ");", r"line 2: a number too long to read"),
        ("define('DB_NAME', array(1; 2));", r"line 2: expected `,` or `\)` in an array"),
    ],
)
def test_hostile_values_are_one_line_naming_the_file(
    local_host: Host, site_dir: Path, hostile: str, reason: str
) -> None:
    (site_dir / "wp-config.php").write_text("<?php\n" + hostile + "\n")
    with pytest.raises(SiteTreeError, match=rf"^{site_dir}/wp-config.php: cannot read the "
                       rf"settings: {reason}") as caught:  # fmt: skip
        read_wordpress(local_host, str(site_dir))
    assert "\n" not in str(caught.value)


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
    assert _routines(mariadb, site_database) == ["node_count"]
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
        # The watch does catch a password given in a command line. (A process that forks
        # nothing: a shell's child holds the same command line until it execs, under another
        # pid the watch would count as a leak.)
        decoy = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(1)", mariadb.password]
        )
        decoy.wait()
        assert f"{decoy.pid}/cmdline" in watch.leaks
        for _ in range(2):
            dump_database(runner, db, f"{site_dir}/dump.sql.gz")
            restore_database(runner, db, f"{site_dir}/dump.sql.gz")
    assert watch.seen_clients > 0  # the watch did see the clients running
    assert [leak for leak in watch.leaks if not leak.startswith(f"{decoy.pid}/")] == []
    assert not runner.shows(mariadb.password)
    # The option file is gone once the command is.
    assert not any(Path(tempfile.gettempdir()).glob("tmp.*/secret"))


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
    with pytest.raises(Exception, match=r"unexpected end of file|crc error|invalid"):
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
    assert old_backups("/b/shop", names, 2, "20260101T000000Z-1") == ["/b/shop/20240101T000000Z-1"]
    # The current apply is kept even when it would not sort newest.
    assert old_backups("/b/shop", [*names, "0-current"], 1, "0-current") == [
        "/b/shop/20260101T000000Z-1",
        "/b/shop/20250101T000000Z-1",
        "/b/shop/20240101T000000Z-1",
    ]


# -- the steps, through the real `tma playbook run` -----------------------------------------------
BACKUP_THEN_FAIL = """\
name: backup-then-fail
variables:
  sock: {required: true}
  dbname: {required: true}
steps:
  - db.backup: {}
  - files.backup: {exclude: [wp-content/uploads, "*.log"]}
  - name: The update breaks the database
    shell: [mariadb, --no-defaults, "--socket={{ sock }}", -uroot, "{{ dbname }}",
            -e, "UPDATE node SET title = 'broken'; DROP TABLE users; CREATE TABLE junk (i INT)"]
  - name: and the files
    shell: [sh, -c, "echo broken > index.php && touch added.php && rm wp-load.php"]
  - name: A smoke check fails
    shell: [sh, -c, "exit 3"]
on_failure:
  - db.restore: {}
  - files.restore: {}
"""

BACKUP_ONLY = """\
name: backup-only
steps:
  - db.backup: {}
  - files.backup: {}
"""

TREE_REMOVED = """\
name: tree-removed
steps:
  - files.backup: {}
  - shell: {argv: [rm, -rf, "{{ path }}"], cwd: /}
  - shell: {argv: [sh, -c, "exit 3"], cwd: /}
on_failure:
  - files.restore: {}
"""

RESTORE_ONLY = """\
name: restore-only
steps:
  - shell: [sh, -c, "exit 1"]
on_failure:
  - db.restore: {}
  - files.restore: {}
"""


def _wordpress_site(root: Path, mariadb: MariaDBServer, database: str) -> None:
    root.mkdir()
    write_settings(root, "wordpress", DatabaseLogin(database, mariadb.user, mariadb.password,
                                                    port=mariadb.port))  # fmt: skip
    (root / "index.php").write_text("<?php require __DIR__ . '/wp-blog-header.php';\n")
    (root / "wp-load.php").write_text("<?php // load\n")
    (root / "wp-content" / "uploads" / "2024").mkdir(parents=True)
    (root / "wp-content" / "uploads" / "2024" / "a.jpg").write_bytes(b"\xff\xd8jpeg")
    (root / "debug.log").write_text("PHP Notice\n")


def _site_config(
    tmp_path: Path, root: Path, backups: Path, *, host: str, sshd: SSHServer, **env: object
) -> Path:
    import yaml

    playbooks = tmp_path / "playbooks"
    playbooks.mkdir(exist_ok=True)
    for name, text in (
        ("a", BACKUP_THEN_FAIL),
        ("b", BACKUP_ONLY),
        ("c", RESTORE_ONLY),
        ("d", TREE_REMOVED),
    ):
        (playbooks / f"{name}.yaml").write_text(text)
    config = {
        "state_dir": str(tmp_path / "state"),
        "apply": {"playbook_dirs": [str(playbooks)], "backup_dir": str(backups),
                  "keep_backups": 2},
        "ssh": sshd.settings().model_dump(),
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [{"id": "blog", "client": "acme", "stack": env.pop("stack", "wordpress"),
                   "environments": {"staging": {"host": host, "path": str(root), **env}}}],
    }  # fmt: skip
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(params=["local", "ssh"])
def host_spec(request: pytest.FixtureRequest, sshd: SSHServer) -> str:
    return "local" if request.param == "local" else f"ssh://{sshd.user}@{sshd.host}:{sshd.port}"


def _leaked(secret: str, *texts: str, state: Path) -> bool:
    files = [p.read_bytes() for p in state.rglob("*") if p.is_file()] if state.exists() else []
    return any(secret in text for text in texts) or any(secret.encode() in f for f in files)


def test_a_failed_apply_restores_database_and_files(
    tmp_path: Path, sshd: SSHServer, host_spec: str, mariadb: MariaDBServer, site_database: str
) -> None:
    import json

    from tma_agent.testing.cli import run_tma

    root = sshd.make_shared_dir(writable=True) / "blog"
    backups = sshd.make_shared_dir(writable=True)
    _wordpress_site(root, mariadb, site_database)
    _own(root, sshd)
    files_before, db_before = tree_checksums(root), mariadb.checksums(site_database)
    config = _site_config(tmp_path, root, backups, host=host_spec, sshd=sshd)
    done = run_tma(
        "-vv", "playbook", "run", "backup-then-fail", "--site", "blog", "--format", "json",
        "--var", f"sock={mariadb.socket}", "--var", f"dbname={site_database}", config=config,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "rolled_back"
    assert [s["status"] for s in outcome["steps"]] == [
        "changed", "changed", "changed", "changed", "failed", "changed", "changed",
    ]  # fmt: skip
    backup = outcome["steps"][0]["data"]
    assert backup["driver"] == "mysql" and backup["bytes"] > 100
    assert backup["path"].startswith(f"{backups}/blog/") and Path(backup["path"]).exists()
    assert mariadb.checksums(site_database) == db_before
    assert tree_checksums(root) == files_before
    # Debug logging is on (-vv): whatever it logs must not show the password either.
    assert not _leaked(mariadb.password, done.stdout, done.stderr, state=tmp_path / "state")
    commands = [c["command"] for s in outcome["steps"] for c in s["commands"]]
    assert any("mysql" in c and site_database in c for c in commands)
    assert not any(mariadb.password in c for c in commands)


def test_credentials_from_the_config_win_and_stay_secret(
    tmp_path: Path, sshd: SSHServer, mariadb: MariaDBServer, site_database: str
) -> None:
    import json

    from tma_agent.testing.cli import run_tma

    root = sshd.make_shared_dir(writable=True) / "blog"
    backups = sshd.make_shared_dir(writable=True)
    root.mkdir()
    (root / "wp-config.php").write_text("<?php define('DB_NAME', getenv('NOPE'));\n")
    database = {"name": site_database, "user": mariadb.user, "host": "127.0.0.1",
                "port": mariadb.port, "password": {"$env": "SITE_DB_PASSWORD"}}  # fmt: skip
    config = _site_config(tmp_path, root, backups, host="local", sshd=sshd, database=database)
    done = run_tma(
        "playbook", "run", "backup-only", "--site", "blog", "--format", "json", config=config,
        env={"SITE_DB_PASSWORD": mariadb.password},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    dump = Path(outcome["steps"][0]["data"]["path"])
    assert dump.name == "database.sql.gz" and dump.stat().st_size > 100
    assert outcome["steps"][1]["data"]["path"].endswith("/files.tar.gz")
    assert not _leaked(mariadb.password, done.stdout, done.stderr, state=tmp_path / "state")


def test_no_credentials_refuses_before_anything_runs(tmp_path: Path, sshd: SSHServer) -> None:
    import json

    from tma_agent.testing.cli import run_tma

    root = tmp_path / "site"
    backups = tmp_path / "backups"
    root.mkdir()
    config = _site_config(tmp_path, root, backups, host="local", sshd=sshd, stack="wordpress")
    done = run_tma("playbook", "run", "backup-only", "--site", "blog", "--format", "json",
                   config=config)  # fmt: skip
    assert done.returncode == 4
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "refused"
    assert outcome["error"] == (
        "site blog: no database credentials: set environments.staging.database, or give the "
        "site a stack whose settings file holds them"
    )
    assert not backups.exists()  # nothing ran: not even the backup directory


def test_a_hostile_settings_file_refuses_naming_it(tmp_path: Path, sshd: SSHServer) -> None:
    from tma_agent.testing.cli import run_tma

    root = tmp_path / "site"
    root.mkdir()
    (root / "wp-config.php").write_text(
        "<?php\ndefine('DB_NAME', 'x');\ndefine('DB_USER', 'u');\n"
        "define('DB_PASSWORD', 'top' . base64_decode('c2VjcmV0') . system('id'));\n"
    )
    config = _site_config(tmp_path, root, tmp_path / "bk", host="local", sshd=sshd)
    done = run_tma("playbook", "run", "backup-only", "--site", "blog", "--format", "table",
                   config=config)  # fmt: skip
    assert done.returncode == 4
    line = f"refused: site blog: {root}/wp-config.php: database password: line 4: not a plain"
    assert done.stderr.strip().startswith(line), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_restore_without_backup_is_a_noop_with_a_note(tmp_path: Path, sshd: SSHServer) -> None:
    import json

    from tma_agent.testing.cli import run_tma

    root = tmp_path / "site"
    root.mkdir()
    (root / "keep.txt").write_text("kept")
    config = _site_config(tmp_path, root, tmp_path / "bk", host="local", sshd=sshd)
    done = run_tma("playbook", "run", "restore-only", "--site", "blog", "--format", "json",
                   config=config)  # fmt: skip
    assert done.returncode == 4
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "rolled_back"
    assert [s["status"] for s in outcome["steps"]] == ["failed", "ok", "ok"]
    assert outcome["notes"] == [
        "No database backup in this apply: nothing to restore.",
        "No files backup in this apply: nothing to restore.",
    ]
    assert (root / "keep.txt").read_text() == "kept"


def test_pruning_keeps_the_newest_backups_of_the_site_only(
    tmp_path: Path, sshd: SSHServer, mariadb: MariaDBServer, site_database: str
) -> None:
    from tma_agent.testing.cli import run_tma

    root = tmp_path / "site"
    backups = tmp_path / "backups"
    _wordpress_site(root, mariadb, site_database)
    for old in ("20240101T000000Z-1", "20250101T000000Z-1", "20250601T000000Z-1"):
        (backups / "blog" / old).mkdir(parents=True)
        (backups / "blog" / old / "database.sql.gz").write_text("old")
    (backups / "blog" / "20200101-a-file").write_text("not a backup directory")
    (backups / "other-site" / "20200101T000000Z-1").mkdir(parents=True)
    config = _site_config(tmp_path, root, backups, host="local", sshd=sshd)
    done = run_tma("playbook", "run", "backup-only", "--site", "blog", "--format", "table",
                   config=config)  # fmt: skip
    assert done.returncode == 0, done.stderr
    kept = sorted(p.name for p in (backups / "blog").iterdir() if p.is_dir())
    assert len(kept) == 2 and kept[0] == "20250601T000000Z-1"  # keep_backups: 2
    assert (backups / "blog" / kept[1] / "database.sql.gz").stat().st_size > 100
    assert (backups / "blog" / kept[1] / "files.tar.gz").exists()
    assert (backups / "blog" / "20200101-a-file").exists()
    assert (backups / "other-site" / "20200101T000000Z-1").is_dir()
    assert "Pruned 2 old backup(s) of site blog (keeping 2)." in done.stdout


def test_dry_run_prints_the_dump_and_runs_nothing(
    tmp_path: Path, sshd: SSHServer, mariadb: MariaDBServer, site_database: str
) -> None:
    from tma_agent.testing.cli import run_tma

    root = tmp_path / "site"
    backups = tmp_path / "backups"
    _wordpress_site(root, mariadb, site_database)
    config = _site_config(tmp_path, root, backups, host="local", sshd=sshd)
    done = run_tma("playbook", "run", "backup-only", "--site", "blog", "--dry-run",
                   "--format", "table", config=config)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "mariadb-dump" in done.stdout and site_database in done.stdout
    assert mariadb.password not in done.stdout + done.stderr
    assert not backups.exists()


# -- PostgreSQL ----------------------------------------------------------------------------------
def test_postgresql_dump_and_exact_restore(
    local_host: Host, tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    name = postgres_cluster.create_database("site").rsplit("/", 1)[1]

    def psql(sql: str) -> str:
        argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", str(postgres_cluster.port), "-U", "postgres", "-d", name, "-c", sql]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def state() -> tuple[str, str]:
        tables = psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                      "WHERE schemaname = 'public'")  # fmt: skip
        rows = psql("SELECT md5(string_agg(n::text, ';' ORDER BY nid)) FROM node n")
        return tables, rows

    psql("CREATE TABLE node (nid INT PRIMARY KEY, title TEXT);"
         "INSERT INTO node VALUES (1, 'Accueil 😀'), (2, 'O''Reilly');"
         "CREATE TABLE users (uid INT PRIMARY KEY); INSERT INTO users VALUES (1);"
         "CREATE VIEW titles AS SELECT title FROM node;")  # fmt: skip
    before = state()
    db = SiteDatabase(driver="pgsql", host="127.0.0.1", port=postgres_cluster.port,
                      name=name, user="postgres", password="pg-pass:word\\x")  # fmt: skip
    runner = Recorder(local_host)
    dump = str(tmp_path / "database.sql.gz")
    assert dump_database(runner, db, dump) > 100
    psql("UPDATE node SET title = 'broken'; DROP VIEW titles; DROP TABLE users;"
         "CREATE TABLE junk (i INT);")  # fmt: skip
    assert state() != before
    restore_database(runner, db, dump)
    assert state() == before
    assert psql("SELECT count(*) FROM pg_views WHERE viewname = 'titles'").strip() == "1"
    assert not runner.shows("pg-pass:word")


@pytest.mark.parametrize(
    "layout", ["drupal10", "drupal7", "magento", "prestashop17", "prestashop16"]
)
def test_each_stack_answers_tma_site_database_in_a_real_run(
    tmp_path: Path, sshd: SSHServer, mariadb: MariaDBServer, site_database: str, layout: str
) -> None:
    import json

    from tma_agent.testing.cli import run_tma

    stack = LAYOUTS[layout][0]
    root, backups = tmp_path / "site", tmp_path / "backups"
    root.mkdir()
    socket = mariadb.socket if layout in ("drupal7", "prestashop16") else None
    login = DatabaseLogin(site_database, mariadb.user, mariadb.password, port=mariadb.port,
                          socket=socket)  # fmt: skip
    write_settings(root, layout, login)
    config = _site_config(tmp_path, root, backups, host="local", sshd=sshd, stack=stack)
    done = run_tma("playbook", "run", "backup-only", "--site", "blog", "--format", "json",
                   config=config)  # fmt: skip
    assert done.returncode == 0, done.stderr
    fact = json.loads(done.stdout)["steps"][0]["data"]
    where = socket or f"127.0.0.1:{mariadb.port}"
    assert fact["database"] == f"mysql {site_database}@{where}"
    assert fact["bytes"] == Path(fact["path"]).stat().st_size > 100
    assert not _leaked(mariadb.password, done.stdout, done.stderr, state=tmp_path / "state")


def test_an_unreadable_file_fails_the_files_backup(ssh_host: Host, sshd: SSHServer) -> None:
    root = sshd.make_shared_dir(writable=True)
    backups = sshd.make_shared_dir(writable=True)
    (root / "ok.php").write_text("<?php\n")
    (root / "private.key").write_text("root only")
    (root / "private.key").chmod(0o000)  # the SSH user may not read it, whoever owns it
    with pytest.raises(Exception, match=r"failed: tar: \./private\.key: Cannot open: Permission"):
        archive_tree(Recorder(ssh_host), str(root), f"{backups}/files.tar.gz")
    assert list(backups.iterdir()) == []  # no partial archive left


@pytest.mark.parametrize("pattern", ["../etc", "/etc/passwd", "a/../../b", "", "   "])
def test_exclude_patterns_stay_inside_the_tree(pattern: str) -> None:
    from pydantic import ValidationError

    from tma_agent.apply.steps.backup import FilesArgs

    with pytest.raises(ValidationError, match="must be relative to the site tree"):
        FilesArgs(exclude=[pattern])
    assert FilesArgs(exclude=["./var/cache/", "*.log"]).exclude == ["var/cache", "*.log"]


def test_a_tree_the_update_removed_comes_back(
    tmp_path: Path, sshd: SSHServer, mariadb: MariaDBServer, site_database: str
) -> None:
    from tma_agent.testing.cli import run_tma

    root, backups = tmp_path / "site", tmp_path / "backups"
    _wordpress_site(root, mariadb, site_database)
    before = tree_checksums(root)
    config = _site_config(tmp_path, root, backups, host="local", sshd=sshd)
    done = run_tma("playbook", "run", "tree-removed", "--site", "blog", "--format", "table",
                   config=config)  # fmt: skip
    assert done.returncode == 4
    assert "undo 1. files.restore [changed]" in done.stdout, done.stdout
    assert tree_checksums(root) == before


# -- Composer projects: Symfony and Laravel dotenv files -----------------------------------------
def test_dotenv_values_are_read_and_never_expanded() -> None:
    from tma_composer.database import parse_dotenv

    values = parse_dotenv(
        '# comment\nAPP_ENV=prod\nexport A=\'single $x\'\nB="double \\"q\\""\nC=plain # note\n'
        'D=${HOME}/x\nE="in $HOME"\nF="esc \\$5"\n'
    )
    assert values["APP_ENV"] == "prod" and values["A"] == "single $x"
    assert values["B"] == 'double "q"' and values["C"] == "plain" and values["F"] == "esc $5"
    assert values["D"] == Unparsed(6, "$") and values["E"] == Unparsed(7, "$")


def test_a_symfony_project_local_env_wins(
    host: Host, site_dir: Path, mariadb: MariaDBServer, site_database: str
) -> None:
    from urllib.parse import quote

    from tma_composer.database import read_database as read_composer

    (site_dir / ".env").write_text(
        "###> doctrine/doctrine-bundle ###\n"
        'DATABASE_URL="postgresql://app:!ChangeMe!@127.0.0.1:5432/app?serverVersion=16"\n'
        "###< doctrine/doctrine-bundle ###\n"
    )
    url = f"mysql://{mariadb.user}:{quote(mariadb.password, safe='')}@127.0.0.1:{mariadb.port}"
    (site_dir / ".env.local").write_text(
        f"DATABASE_URL='{url}/{site_database}?serverVersion=10.11.2-MariaDB&charset=utf8mb4'\n"
    )
    db = read_composer(host, str(site_dir))
    assert db is not None
    assert (db.driver, db.name, db.port) == ("mysql", site_database, mariadb.port)
    assert db.password.get_secret_value() == mariadb.password
    backups = sshd_writable(site_dir)
    before = mariadb.checksums(site_database)
    dump_database(Recorder(host), db, f"{backups}/database.sql.gz")
    _damage(mariadb, site_database)
    restore_database(Recorder(host), db, f"{backups}/database.sql.gz")
    assert mariadb.checksums(site_database) == before


def sshd_writable(site_dir: Path) -> Path:
    backups = site_dir.parent / (site_dir.name + "-bk")
    backups.mkdir(mode=0o777, exist_ok=True)
    backups.chmod(0o777)
    return backups


def test_laravel_dump_env_and_refusals(local_host: Host, tmp_path: Path) -> None:
    from tma_composer.database import read_database as read_composer

    (tmp_path / ".env").write_text(
        "APP_NAME=Laravel\nDB_CONNECTION=mariadb\nDB_HOST=127.0.0.1\nDB_PORT=3307\n"
        'DB_DATABASE=laravel\nDB_USERNAME=forge\nDB_PASSWORD="s3cret pass"\n'
    )
    db = read_composer(local_host, str(tmp_path))
    assert db is not None
    assert (db.driver, db.host, db.port, db.name, db.user) == (
        "mysql", "127.0.0.1", 3307, "laravel", "forge",
    )  # fmt: skip
    assert db.password.get_secret_value() == "s3cret pass"
    # `composer dump-env prod` wrote .env.local.php: the .env files are then not read.
    (tmp_path / ".env.local.php").write_text(
        '<?php\n\n// This file was generated by running "composer dump-env prod"\n\n'
        "return array (\n  'APP_ENV' => 'prod',\n"
        "  'DATABASE_URL' => 'mysql://dumped:pw@db.internal:3306/shop?unix_socket=/run/my.sock',\n"
        ");\n"
    )
    db = read_composer(local_host, str(tmp_path))
    assert db is not None and (db.name, db.user, db.socket) == ("shop", "dumped", "/run/my.sock")
    (tmp_path / ".env.local.php").unlink()
    (tmp_path / ".env.local").write_text("DB_PASSWORD=${VAULT_DB_PASSWORD}\n")
    with pytest.raises(SiteTreeError) as caught:
        read_composer(local_host, str(tmp_path))
    assert str(caught.value) == (
        f"{tmp_path}/.env.local: database password: line 1: not a plain value (`$...`)"
    )
    (tmp_path / ".env").unlink()
    (tmp_path / ".env.local").unlink()
    assert read_composer(local_host, str(tmp_path)) is None
