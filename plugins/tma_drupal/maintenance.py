"""Drupal's maintenance mode, through Drush: the `system.maintenance_mode` state (Drupal 8+)
or the `maintenance_mode` variable (Drupal 7), then a cache rebuild so pages already cached
show (or stop showing) the maintenance page."""

from __future__ import annotations

import posixpath

from tma_agent.hosts import Host
from tma_drupal import detect

__all__ = ["drush_program", "maintenance_commands"]

#: Composer-built sites ship their own Drush; it matches the site's core, a global one may not.
SITE_DRUSH = "vendor/bin/drush"


def drush_program(host: Host, path: str) -> str:
    """`vendor/bin/drush` (relative: commands run in the site path) when the site has one,
    else `drush` from the host's PATH."""
    return SITE_DRUSH if host.exists(posixpath.join(path, SITE_DRUSH)) else "drush"


def maintenance_commands(host: Host, path: str, enable: bool) -> list[list[str]]:
    names = detect.detect_paths()
    read = host.read_many([posixpath.join(path, name) for name in names])
    files = {name: read[posixpath.join(path, name)] for name in names}
    facts = detect.core_facts(files)
    drush = drush_program(host, path)
    flag = "1" if enable else "0"
    if facts is not None and facts.drupal7:
        # Drush 8 finds a Drupal 7 root from the working directory only when it is inside it.
        root = f"--root={posixpath.normpath(posixpath.join(path, facts.docroot))}"
        return [
            [drush, root, "variable-set", "--exact", "--yes", "maintenance_mode", flag],
            [drush, root, "cache-clear", "all"],
        ]
    return [
        [drush, "state:set", "system.maintenance_mode", flag, "--input-format=integer"],
        [drush, "cache:rebuild"],
    ]
