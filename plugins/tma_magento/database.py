"""The database a Magento 2 site uses, read from `app/etc/env.php` (never executed): the array
it returns holds `db.connection.default` (host, dbname, username, password) and
`db.table_prefix`."""

from __future__ import annotations

from typing import Any

from tma_agent.apply.database import SiteDatabase, from_settings, read_php_settings
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import Host

__all__ = ["ENV_FILE", "read_database"]

ENV_FILE = "app/etc/env.php"


def read_database(host: Host, path: str) -> SiteDatabase | None:
    """The site's default connection; None when there is no app/etc/env.php."""
    files = read_php_settings(host, path, [ENV_FILE])
    if not files:
        return None
    env_path, php = next(iter(files.items()))
    db = _mapping(php.returned(), "db")
    connection = _mapping(_mapping(db, "connection"), "default")
    if not connection:
        raise SiteTreeError(f"{env_path}: no 'db' => ['connection' => ['default' => ...]] found")
    return from_settings(
        env_path,
        host=connection.get("host"),
        port=connection.get("port"),
        name=connection.get("dbname"),
        user=connection.get("username"),
        password=connection.get("password", ""),
        prefix=db.get("table_prefix", ""),
    )


def _mapping(value: Any, key: str) -> dict[Any, Any]:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}
