"""WordPress' own maintenance mode: a `.maintenance` file in the document root, which
wp-settings.php loads before anything else and which shows "Briefly unavailable for scheduled
maintenance". WordPress ignores a file whose `$upgrading` is ten minutes old, so the file sets
it to the time of each request: maintenance lasts until the file is removed."""

from __future__ import annotations

import posixpath

from tma_agent.hosts import Host
from tma_wordpress.detect import DOCROOT_PREFIXES

__all__ = ["MAINTENANCE_FILE", "MAINTENANCE_PHP", "document_root", "maintenance_commands"]

MAINTENANCE_FILE = ".maintenance"
MAINTENANCE_PHP = "<?php $upgrading = time(); ?>"
# Fixed program text: the content and the target arrive as positional arguments, never as code.
_WRITE = 'printf "%s\\n" "$1" > "$2.tma-tmp" && mv -f "$2.tma-tmp" "$2"'


def document_root(host: Host, path: str) -> str:
    """The directory holding wp-load.php (the site path or one of the usual sub-directories);
    the site path when none is found, where WordPress would look first anyway."""
    candidates = [posixpath.join(path, prefix, "wp-load.php") for prefix in DOCROOT_PREFIXES]
    found = host.read_many(candidates, max_bytes=1)
    for candidate in candidates:
        if found[candidate] is not None:
            return posixpath.dirname(candidate)
    return path


def maintenance_commands(host: Host, path: str, enable: bool) -> list[list[str]]:
    target = posixpath.join(document_root(host, path), MAINTENANCE_FILE)
    if enable:
        return [["sh", "-c", _WRITE, "sh", MAINTENANCE_PHP, target]]
    return [["rm", "-f", "--", target]]
