"""Drupal's maintenance mode, through Drush: the `system.maintenance_mode` state (Drupal 8+)
or the `maintenance_mode` variable (Drupal 7), then a cache rebuild so pages already cached
show (or stop showing) the maintenance page."""

from __future__ import annotations

import posixpath

from tma_agent.hosts import Host
from tma_drupal import detect

__all__ = ["SITE_DRUSH", "drupal7_docroot", "drush_program", "maintenance_commands"]

#: Composer-built sites ship their own Drush; it matches the site's core, a global one may not.
SITE_DRUSH = "vendor/bin/drush"


def drush_program(host: Host, path: str) -> str:
    """`vendor/bin/drush` (relative: commands run in the site path) when the site has one,
    else `drush` from the host's PATH."""
    return SITE_DRUSH if host.exists(posixpath.join(path, SITE_DRUSH)) else "drush"


def drupal7_docroot(host: Host, path: str) -> str | None:
    """The docroot when the site is Drupal 7, else None: the markers' presence only, read in
    one round trip, in detection's order (a Drupal 8+ marker first wins)."""
    candidates = []
    for docroot in detect.DOCROOT_CANDIDATES:
        root = posixpath.normpath(posixpath.join(path, docroot))
        candidates.append((root, False, posixpath.join(root, detect.DRUPAL8_MARKER)))
        candidates.append((root, True, posixpath.join(root, detect.DRUPAL7_MARKER)))
    found = host.read_many([marker for _, _, marker in candidates], max_bytes=1)
    for root, drupal7, marker in candidates:
        if found[marker] is not None:
            return root if drupal7 else None
    return None


def maintenance_commands(host: Host, path: str, enable: bool) -> list[list[str]]:
    drush = drush_program(host, path)
    flag = "1" if enable else "0"
    d7_root = drupal7_docroot(host, path)
    if d7_root is not None:
        # Drush 8 finds a Drupal 7 root from the working directory only when it is inside it.
        root = f"--root={d7_root}"
        return [
            [drush, root, "variable-set", "--exact", "--yes", "maintenance_mode", flag],
            [drush, root, "cache-clear", "all"],
        ]
    return [
        [drush, "state:set", "system.maintenance_mode", flag, "--input-format=integer"],
        [drush, "cache:rebuild"],
    ]
