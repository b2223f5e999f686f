"""Dump a site's database to a gzip file on its host and load it back, password kept secret.

The password never appears in a command line or in a process' environment (both are readable
by every user of the host through `ps` and /proc): it travels on the command's stdin into a
client option file (MySQL/MariaDB) or a password file (PostgreSQL, `PGPASSFILE` holds only its
path), created mode 0600 in a private `mktemp -d` directory that the program removes on exit.

A restore brings the database back exactly: tables and views created since the dump are dropped
first (a dump only drops what it recreates), then the dump is loaded. The archive is tested
complete (`gzip -t`) before anything is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tma_agent.apply.database import SiteDatabase
from tma_agent.hosts import CommandResult

__all__ = ["CommandRunner", "dump_database", "restore_database", "secret_file"]


class CommandRunner(Protocol):
    """What runs a command on the site's host: `StepContext.run` (or a test's stand-in)."""

    def __call__(
        self, argv: Sequence[str], *, stdin: bytes | None = ..., secrets: Sequence[str] = ...
    ) -> CommandResult: ...


#: Shared head: the secret file from stdin into a private directory, removed on every exit.
_PREAMBLE = r"""
set -u
umask 077
d=$(mktemp -d) || exit 70
trap 'rm -rf "$d"' EXIT
trap 'exit 143' HUP INT TERM
cat > "$d/secret"
driver=$1 file=$2 name=$3
shift 3
mysql_tool() {
  command -v "$1" || command -v "$2" || { echo "neither $1 nor $2 found on the host" >&2; exit 127; }
}
failed() {
  tail -n 5 "$d/err" >&2
  exit "$1"
}
"""

_DUMP = (
    _PREAMBLE
    + r"""
case $driver in
mysql)
  tool=$(mysql_tool mariadb-dump mysqldump) || exit 127
  ( "$tool" --defaults-extra-file="$d/secret" --single-transaction --routines --triggers \
      --no-tablespaces --default-character-set=utf8mb4 "$@" -- "$name" 2>"$d/err"
    echo $? > "$d/rc" ) | gzip -c > "$file.part" || exit 74 ;;
pgsql)
  PGPASSFILE="$d/secret"; export PGPASSFILE
  ( pg_dump --clean --if-exists --no-owner --no-privileges -w "$@" -d "$name" 2>"$d/err"
    echo $? > "$d/rc" ) | gzip -c > "$file.part" || exit 74 ;;
esac
rc=$(cat "$d/rc")
if [ "$rc" != 0 ]; then rm -f "$file.part"; failed "$rc"; fi
mv -f "$file.part" "$file" && wc -c < "$file"
"""
)

_RESTORE = (
    _PREAMBLE
    + r"""
drops=$1
shift
gzip -t "$file" || exit 65
case $driver in
mysql)
  tool=$(mysql_tool mariadb mysql) || exit 127
  "$tool" --defaults-extra-file="$d/secret" -N -B -r "$@" --database="$name" -e "$drops" \
    > "$d/drops" 2>"$d/err" || failed $?
  { echo "SET FOREIGN_KEY_CHECKS=0;"; cat "$d/drops"; gunzip -c "$file"; } \
    | "$tool" --defaults-extra-file="$d/secret" "$@" --database="$name" 2>"$d/err" || failed $? ;;
pgsql)
  PGPASSFILE="$d/secret"; export PGPASSFILE
  psql -X -w -A -t -q -v ON_ERROR_STOP=1 "$@" -d "$name" -c "$drops" > "$d/drops" 2>"$d/err" \
    || failed $?
  { cat "$d/drops"; gunzip -c "$file"; } \
    | psql -X -w -q -v ON_ERROR_STOP=1 --single-transaction "$@" -d "$name" \
      > /dev/null 2>"$d/err" || failed $? ;;
esac
"""
)

#: The statements dropping what a dump would not (tables, views, routines), written by the
#: server itself from its catalog, so a table name is never shell data.
_MYSQL_DROPS = (
    "SELECT CONCAT('DROP ', IF(TABLE_TYPE = 'VIEW', 'VIEW', 'TABLE'), ' IF EXISTS `', "
    "REPLACE(TABLE_NAME, '`', '``'), '`;') FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = DATABASE() UNION ALL "
    "SELECT CONCAT('DROP ', ROUTINE_TYPE, ' IF EXISTS `', REPLACE(ROUTINE_NAME, '`', '``'), "
    "'`;') FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"
)
_PG_DROPS = (
    "SELECT format('DROP VIEW IF EXISTS %I.%I CASCADE;', schemaname, viewname) FROM pg_views "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') UNION ALL "
    "SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE;', schemaname, tablename) FROM pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
)


def dump_database(run: CommandRunner, db: SiteDatabase, path: str) -> int:
    """Dump `db` into the gzip file `path` on the host (written as `path.part`, renamed when
    complete); its size in bytes."""
    argv = ["sh", "-c", _DUMP, "sh", db.driver, path, _target(db), *_connection_args(db)]
    result = run(argv, stdin=secret_file(db), secrets=_secrets(db))
    text = result.stdout.decode("utf-8", errors="replace").strip()
    return int(text) if text.isdigit() else 0


def restore_database(run: CommandRunner, db: SiteDatabase, path: str) -> None:
    """Load the gzip dump `path` into `db`, dropping first whatever the dump would not."""
    drops = _MYSQL_DROPS if db.driver == "mysql" else _PG_DROPS
    argv = ["sh", "-c", _RESTORE, "sh", db.driver, path, _target(db), drops]
    run([*argv, *_connection_args(db)], stdin=secret_file(db), secrets=_secrets(db))


def secret_file(db: SiteDatabase) -> bytes:
    """The option file (MySQL) or password file (PostgreSQL) the program reads from stdin."""
    password = db.password.get_secret_value()
    if db.driver == "pgsql":
        fields = ["*", "*", "*", db.user, password]
        return (":".join(_pg_escape(f) if f != "*" else f for f in fields) + "\n").encode()
    lines = ["[client]", f"user={_my_quote(db.user)}", f"password={_my_quote(password)}"]
    if db.socket:
        lines.append(f"socket={_my_quote(db.socket)}")
    else:
        lines.append(f"host={_my_quote(db.host)}")
        if db.port:
            lines.append(f"port={db.port}")
    return ("\n".join(lines) + "\n").encode()


def _connection_args(db: SiteDatabase) -> list[str]:
    # MySQL reads everything from the option file; psql and pg_dump take host/port/user as
    # options (not secret) and only the password from the password file.
    if db.driver == "mysql":
        return []
    host = db.socket or db.host
    return ["-h", host, *(["-p", str(db.port)] if db.port else []), "-U", db.user]


def _target(db: SiteDatabase) -> str:
    if db.driver == "mysql":
        return db.name
    # A conninfo string, so a name containing `=` or starting with `postgresql://` is a name.
    return "dbname='" + db.name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _secrets(db: SiteDatabase) -> list[str]:
    password = db.password.get_secret_value()
    return [password] if password else []


def _my_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _pg_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")
