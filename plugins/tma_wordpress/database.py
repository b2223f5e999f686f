"""The database a WordPress site uses, read from its `wp-config.php` (never executed).

`define('DB_NAME', ...)`, `DB_USER`, `DB_PASSWORD`, `DB_HOST` (which may carry `:port` or
`:/socket`) and `$table_prefix`. WordPress also finds a wp-config.php one directory above the
site (to keep it out of the document root): that one is read when the site has none.
"""

from __future__ import annotations

from tma_agent.apply.database import SiteDatabase, from_settings, read_php_settings
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import Host

__all__ = ["CONFIG_FILES", "read_database"]

CONFIG_FILES = ["wp-config.php", "../wp-config.php"]


def read_database(host: Host, path: str) -> SiteDatabase | None:
    """The site's database; None when there is no wp-config.php."""
    files = read_php_settings(host, path, CONFIG_FILES)
    if not files:
        return None
    config_path, php = next(iter(files.items()))
    defines = php.defines()
    if "DB_NAME" not in defines:
        raise SiteTreeError(f"{config_path}: no define('DB_NAME', ...) found")
    return from_settings(
        config_path,
        host=defines.get("DB_HOST", "localhost"),
        name=defines.get("DB_NAME"),
        user=defines.get("DB_USER"),
        password=defines.get("DB_PASSWORD", ""),
        prefix=php.assigned("table_prefix") or "wp_",
    )
