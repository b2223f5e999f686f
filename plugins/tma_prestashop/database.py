"""The database a PrestaShop site uses, read without executing PHP: 1.7 and later return
`['parameters' => ['database_host' => ..., ...]]` from `app/config/parameters.php`; 1.6
defines `_DB_SERVER_`, `_DB_NAME_`, `_DB_USER_`, `_DB_PASSWD_`, `_DB_PREFIX_` in
`config/settings.inc.php`."""

from __future__ import annotations

from typing import Any

from tma_agent.apply.database import SiteDatabase, from_settings, read_php_settings
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import Host

__all__ = ["SETTINGS_FILES", "read_database"]

PARAMETERS_FILE = "app/config/parameters.php"
LEGACY_FILE = "config/settings.inc.php"
SETTINGS_FILES = [PARAMETERS_FILE, LEGACY_FILE]


def read_database(host: Host, path: str) -> SiteDatabase | None:
    """The shop's database; None when neither settings file exists."""
    files = read_php_settings(host, path, SETTINGS_FILES)
    if not files:
        return None
    settings_path, php = next(iter(files.items()))
    if settings_path.endswith(PARAMETERS_FILE):
        returned = php.returned()
        found = returned.get("parameters") if isinstance(returned, dict) else None
        parameters: dict[Any, Any] = found if isinstance(found, dict) else {}
        if "database_name" not in parameters:
            raise SiteTreeError(f"{settings_path}: no 'parameters' => ['database_name' => ...]")
        return from_settings(
            settings_path,
            host=parameters.get("database_host"),
            port=parameters.get("database_port"),
            name=parameters.get("database_name"),
            user=parameters.get("database_user"),
            password=parameters.get("database_password", ""),
            prefix=parameters.get("database_prefix", ""),
        )
    defines = php.defines()
    if "_DB_NAME_" not in defines:
        raise SiteTreeError(f"{settings_path}: no define('_DB_NAME_', ...) found")
    return from_settings(
        settings_path,
        host=defines.get("_DB_SERVER_"),
        name=defines.get("_DB_NAME_"),
        user=defines.get("_DB_USER_"),
        password=defines.get("_DB_PASSWD_", ""),
        prefix=defines.get("_DB_PREFIX_", ""),
    )
