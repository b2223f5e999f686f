"""The database a Drupal site uses, read from its `settings.php` (never executed).

Drupal 7 to 11 keep it in `$databases['default']['default']` (assigned whole or key by key,
in `settings.php` or in the `settings.local.php` it includes); Drupal 6 in a `$db_url` URL.
The composer layouts put the document root in `web/` or `docroot/`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from tma_agent.apply.database import SiteDatabase, from_settings, literal_fields, read_php_settings
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import Host

__all__ = ["SETTINGS_FILES", "read_database"]

#: Where settings live in each layout; a later file (settings.local.php) overrides an earlier.
SETTINGS_FILES = [
    f"{root}sites/default/{name}"
    for root in ("", "web/", "docroot/")
    for name in ("settings.php", "settings.local.php")
]


def read_database(host: Host, path: str) -> SiteDatabase | None:
    """The site's default database connection; None when no settings file exists there."""
    files = read_php_settings(host, path, SETTINGS_FILES)
    if not files:
        return None
    connection: dict[str, Any] = {}
    where = next(iter(files))
    for file_path, php in files.items():
        databases = php.assigned("databases")
        if isinstance(databases, dict):
            found = databases.get("default", {})
            found = found.get("default") if isinstance(found, dict) else None
            if isinstance(found, dict):
                connection.update(found)
                where = file_path
        elif databases is not None:
            literal_fields(file_path, {"databases": databases})
        legacy = php.assigned("db_url")
        if legacy is not None and not connection:
            return _from_url(file_path, legacy)
    if not connection:
        raise SiteTreeError(f"{where}: no $databases['default']['default'] found")
    return from_settings(
        where,
        driver=connection.get("driver", "mysql"),
        host=connection.get("host"),
        port=connection.get("port"),
        name=connection.get("database"),
        user=connection.get("username"),
        password=connection.get("password", ""),
        socket=connection.get("unix_socket"),
        prefix=_prefix(connection.get("prefix", "")),
    )


def _prefix(value: Any) -> Any:
    # Drupal 7 allowed a per-table prefix array; its 'default' entry is the common prefix.
    return value.get("default", "") if isinstance(value, dict) else value


def _from_url(path: str, value: Any) -> SiteDatabase:
    """Drupal 6: `$db_url = 'mysqli://user:pass@host:port/name'`."""
    url = str(literal_fields(path, {"db_url": value})["db_url"])
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise SiteTreeError(f"{path}: $db_url has a bad port") from None
    return from_settings(
        path,
        driver=parts.scheme,
        host=parts.hostname,
        port=port,
        name=unquote(parts.path.lstrip("/")),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )
